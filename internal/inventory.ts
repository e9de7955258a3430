/**
 * Listing named segments and collecting the leaked ones, on every platform:
 * Linux does it (posix/inventory.ts); macOS and Windows say why they cannot.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { ffi } from "../ffi/mod.ts";
import { namedBackend } from "./backend.ts";
import { portableName } from "../names.ts";
import { checkBoolean, describe, integer, readOptions } from "./options.ts";
import type { OptionKeys } from "./options.ts";
import { collectPosixSegments, inspectPosixSegment, listPosixSegments } from "../posix/inventory.ts";
import type { SegmentRecord } from "../posix/inventory.ts";

/**
 * A named segment as {@link Segment.list} reports it.
 *
 * @example Find the big ones
 * ```ts
 * import { Segment, type SegmentInfo } from "../mod.ts";
 * const big: SegmentInfo[] = Segment.list().filter((s) => s.size > 1 << 30);
 * ```
 */
export type SegmentInfo = SegmentRecord;

/** Options of {@link Segment.collect}. */
export interface CollectOptions {
  /** Report what would be removed, and remove nothing. Default `false`. */
  dryRun?: boolean;
  /**
   * Leave alone segments created less than this many milliseconds ago (a
   * creator may still be starting). Default `10_000`.
   */
  graceMs?: number;
  /** Only consider names starting with this. Default `""` (every name). */
  prefix?: string;
}

const WHY: Readonly<Record<string, string>> = {
  darwin:
    "macOS keeps POSIX shared-memory objects out of the file system and offers no call that lists them, so shmem cannot list or collect them there; use { unlinkOnExit: true } and unlink() instead",
  win32:
    "Windows has no persistent named shared memory: a named mapping vanishes with its last handle, so nothing can leak and there is nothing to list",
};

/** How one platform lists, inspects and collects its named segments. */
interface Inventory {
  list(): SegmentInfo[];
  inspect(name: string): SegmentInfo;
  collect(request: { dryRun: boolean; graceMs: number; prefix: string }): SegmentInfo[];
}

/** The platforms that can list their segments; the others say why not ({@link WHY}). */
const INVENTORIES: Readonly<Record<string, Inventory>> = {
  linux: { list: listPosixSegments, inspect: inspectPosixSegment, collect: collectPosixSegments },
};

/** Platforms where names cannot leak, so collecting finds nothing (instead of failing). */
const NOTHING_TO_COLLECT: ReadonlySet<string> = new Set(["win32"]);

function inventory(what: string): Inventory {
  const found = INVENTORIES[ffi.os];
  if (!found) throw unsupported(what);
  return found;
}

function unsupported(what: string): ShmError {
  const why = WHY[ffi.os] ?? `shmem cannot list shared memory on '${ffi.os}'`;
  return new ShmError({ code: "ERR_UNSUPPORTED", errno: 0, message: `${what} is not supported here: ${why}` });
}

/** Every named segment this user can see (Linux), sorted by name. */
export function listSegments(): SegmentInfo[] {
  return inventory("Listing segments").list();
}

/** One segment by its portable name (Linux); ShmError `ENOENT` when there is none. */
export function inspectSegment(name: string): SegmentInfo {
  const bare = portableName(name, namedBackend().nameRules);
  return inventory("Inspecting segments").inspect(bare);
}

const COLLECT_KEYS: OptionKeys<CollectOptions> = { dryRun: true, graceMs: true, prefix: true };

function checkCollect(options: unknown): { dryRun: boolean; graceMs: number; prefix: string } {
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
  if (NOTHING_TO_COLLECT.has(ffi.os)) return [];
  return inventory("Collecting segments").collect(request);
}
