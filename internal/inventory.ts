/**
 * Listing named segments and collecting the leaked ones: the option checks,
 * before the platform's inventory is asked (Linux lists /dev/shm; macOS and
 * Windows say why they cannot, and Windows has nothing to collect).
 *
 * @module
 */
import { platform } from "../platform/mod.ts";
import type { CollectRequest } from "../platform/mod.ts";
import type { CollectOptions, SegmentInfo } from "../types.ts";
import { portableName } from "../names.ts";
import { checkBoolean, describe, integer, readOptions } from "./options.ts";
import type { OptionKeys } from "./options.ts";

/** Every named segment this user can see (Linux), sorted by name. */
export function listSegments(): SegmentInfo[] {
  return platform().inventory.list();
}

/** One segment by its portable name (Linux); ShmError `ENOENT` when there is none. */
export function inspectSegment(name: string): SegmentInfo {
  const p = platform();
  return p.inventory.inspect(portableName(name, p.named.nameRules));
}

const COLLECT_KEYS: OptionKeys<CollectOptions> = { dryRun: true, graceMs: true, prefix: true };

function checkCollect(options: unknown): CollectRequest {
  const o = readOptions(options, "Segment.collect", COLLECT_KEYS);
  const dryRun = checkBoolean(o.dryRun, "dryRun", false);
  const graceMs = o.graceMs === undefined ? 10_000 : o.graceMs;
  if (typeof graceMs !== "number") throw new TypeError(`Option 'graceMs' must be a number, got ${typeof graceMs}`);
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new RangeError(`Option 'graceMs' must be a finite number of milliseconds >= 0, got ${describe(graceMs)}`);
  }
  const prefix = o.prefix === undefined ? "" : o.prefix;
  if (typeof prefix !== "string") throw new TypeError(`Option 'prefix' must be a string, got ${typeof prefix}`);
  return { dryRun, graceMs: integer(graceMs), prefix: prefix.replace(/^\//, "") };
}

/** Removes (or, dry, reports) the orphans shmem made; see {@link Segment.collect}. */
export function collectSegments(options?: CollectOptions): SegmentInfo[] {
  const request = checkCollect(options);
  return platform().inventory.collect(request);
}
