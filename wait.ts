/**
 * TEMPORARY stand-in for the wait/notify module being built on branch `sync`
 * (same signatures). Linux x86-64/arm64 only; `waitAsync` polls. It is
 * replaced by the real module when that branch is merged.
 *
 * @module
 */
import { ffi } from "./ffi/mod.ts";
import { Region } from "./region.ts";
import { libc } from "./posix/libc.ts";

const SYMBOLS = {
  // long syscall(long nr, int *uaddr, int op, int val, const struct timespec *timeout);
  syscall: { parameters: ["i32", "buffer", "i32", "i32", "buffer"], result: "i32" },
} as const;

let lib: ReturnType<typeof ffi.open<typeof SYMBOLS>> | undefined;
const NR: Record<string, number> = { x64: 202, arm64: 98 };

function words(target: Int32Array | Region): Int32Array {
  return target instanceof Region ? target.array(Int32Array) : target;
}

/**
 * Blocks until woken by {@link notify}, while `target[index] === expected`.
 *
 * @example Wait for a flag
 * ```ts
 * import { Segment, uniqueName, wait } from "./mod.ts";
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * wait(seg.region(0, 4), 0, 1, 10); // "not-equal"
 * seg.unlink();
 * ```
 */
export function wait(
  target: Int32Array | Region,
  index: number,
  expected: number,
  timeoutMs?: number,
): "ok" | "not-equal" | "timed-out" {
  const a = words(target);
  lib ??= ffi.open(libc().c.libraries, SYMBOLS);
  const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
  const ts = new BigInt64Array(2);
  for (;;) {
    if (Atomics.load(a, index) !== expected) return "not-equal";
    const left = Math.min(deadline - performance.now(), 86_400_000);
    if (left <= 0) return "timed-out";
    ts[0] = BigInt(Math.floor(left / 1000));
    ts[1] = BigInt(Math.floor((left % 1000) * 1e6));
    const r = lib.symbols.syscall(NR[ffi.arch], a.subarray(index, index + 1), 0, expected, ts);
    if (r === 0) return "ok";
    const e = libc().errno();
    if (e === 11) return "not-equal";
    if (e === 110 && deadline !== Infinity) return "timed-out";
  }
}

/**
 * Wakes up to `count` waiters on `target[index]`.
 *
 * @example Wake everyone
 * ```ts
 * import { notify, Segment, uniqueName } from "./mod.ts";
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * notify(seg.region(0, 4), 0);
 * seg.unlink();
 * ```
 */
export function notify(target: Int32Array | Region, index: number, count = 0x7fffffff): number {
  const a = words(target);
  lib ??= ffi.open(libc().c.libraries, SYMBOLS);
  const r = lib.symbols.syscall(NR[ffi.arch], a.subarray(index, index + 1), 1, count, new BigInt64Array(2));
  return r < 0 ? 0 : r;
}

/**
 * Like {@link wait} without blocking the event loop (this stand-in polls).
 *
 * @example
 * ```ts
 * import { Segment, uniqueName, waitAsync } from "./mod.ts";
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * await waitAsync(seg.region(0, 4), 0, 0, 5); // "timed-out"
 * seg.unlink();
 * ```
 */
export async function waitAsync(
  target: Int32Array | Region,
  index: number,
  expected: number,
  timeoutMs?: number,
): Promise<"ok" | "not-equal" | "timed-out"> {
  const a = words(target);
  const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
  if (Atomics.load(a, index) !== expected) return "not-equal";
  for (;;) {
    await new Promise((r) => setTimeout(r, 1));
    if (Atomics.load(a, index) !== expected) return "ok";
    if (performance.now() >= deadline) return "timed-out";
  }
}
