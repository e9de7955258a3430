// Fuzz helpers: a small seeded random generator (reproducible from its seed
// in every runtime) and the error codes the public API documents.

/** mulberry32: 32-bit state, the same sequence in Deno, Bun and Node. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  item<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
  pick<T>(list: readonly T[]): T {
    return this.item(list);
  }
}

/** Codes a ShmError may carry from the calls the fuzzer makes (errno names and the library's own). */
export const EXPECTED_CODES: ReadonlySet<string> = new Set([
  "ERR_USE_AFTER_CLOSE",
  "ERR_CHANNEL_INVALID",
  "ERR_CHANNEL_CLOSED",
  "ERR_PINNED",
  "ERR_MUTEX_NOT_OWNER",
  "ERR_MUTEX_NOT_LOCKED",
  "ERR_MUTEX_DEADLOCK",
  "EEXIST",
  "ENOENT",
  "EACCES",
  "EINVAL",
  "ENOSPC",
  "ENOMEM",
  "EROFS",
]);
