/**
 * Portable segment names: the rules every platform shares, the per-platform
 * limits as data, and a generator of fresh unique names.
 *
 * @module
 */

/** What a platform allows in a name. */
export interface NameRules {
  /** The platform, quoted in messages (`Linux`, `macOS`, `Windows`). */
  readonly platform: string;
  /** Longest name in encoded units, counting the leading `/` where the platform adds one. */
  readonly maxUnits: number;
  /** How the length is counted: UTF-8 bytes or UTF-16 code units. */
  readonly unit: "utf8" | "utf16";
  /** Units the platform adds to the portable name (the `/` on POSIX, `Local\` on Windows). */
  readonly prefixUnits: number;
  /** Characters a name may not contain after the optional leading `/`. */
  readonly forbidden: readonly string[];
}

const encoder = new TextEncoder();

function describe(ch: string): string {
  return ch === "\0" ? "NUL" : `'${ch}'`;
}

/**
 * Checks a user's segment name against `rules` and returns it in portable
 * form (without the leading `/`). Throws TypeError for a non-string and
 * RangeError for a name the platform would refuse; no system call is made.
 */
export function portableName(name: unknown, rules: NameRules): string {
  if (typeof name !== "string") {
    throw new TypeError(`Segment name must be a string, got ${typeof name}`);
  }
  const bare = name.startsWith("/") ? name.slice(1) : name;
  if (bare.length === 0) {
    throw new RangeError(`Segment name must not be empty, got '${name}'`);
  }
  if (bare === "." || bare === "..") {
    throw new RangeError(`Segment name must not be '.' or '..', got '${name}'`);
  }
  for (const ch of ["\0", "/", ...rules.forbidden]) {
    if (bare.includes(ch)) {
      throw new RangeError(
        `Segment name must not contain ${describe(ch)} (a leading '/' alone is allowed), got ${JSON.stringify(name)}`,
      );
    }
  }
  if (bare.isWellFormed && !bare.isWellFormed()) {
    throw new RangeError(`Segment name must be well-formed Unicode, got ${JSON.stringify(name)}`);
  }
  const units = rules.prefixUnits +
    (rules.unit === "utf8" ? encoder.encode(bare).length : bare.length);
  if (units > rules.maxUnits) {
    throw new RangeError(
      `Segment name is too long for ${rules.platform}: ${units} ${
        rules.unit === "utf8" ? "bytes" : "UTF-16 units"
      } with its prefix, at most ${rules.maxUnits} allowed, got '${name}'`,
    );
  }
  return bare;
}

/**
 * Makes a fresh random name, short enough for every platform (22 characters;
 * macOS allows 30 after the `/`).
 *
 * @param prefix Start of the name; default `"shmem_"`. Keep it short on macOS.
 * @example A name nobody else uses
 * ```ts
 * import { Segment, uniqueName } from "./mod.ts";
 *
 * const name = uniqueName(); // e.g. "shmem_3f9a0c1d2b4e6f70"
 * const seg = Segment.create(name, { size: 4096 });
 * seg.close();
 * Segment.unlink(name);
 * ```
 */
export function uniqueName(prefix: string = "shmem_"): string {
  if (typeof prefix !== "string") {
    throw new TypeError(`Name prefix must be a string, got ${typeof prefix}`);
  }
  // One call to the system's random source serves 64 names.
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let hex = "";
  for (let i = 0; i < 8; i++) hex += HEX[pool[poolAt++]];
  return prefix + hex;
}

const pool = new Uint8Array(512);
let poolAt = pool.length;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
