/**
 * Which CPU the calling thread runs on, and giving it up: hints for adaptive
 * spinning and yielding.
 *
 * @module
 */
import { libc } from "./libc.ts";

let getcpu: (() => number) | null | undefined;
let yielder: (() => number) | null | undefined;

/**
 * The CPU this thread runs on now (`sched_getcpu`), or -1 where the system
 * cannot tell (macOS, Windows, or a libc without it). The answer may be stale
 * as soon as it returns: use it as a hint only.
 */
export function currentCpu(): number {
  if (getcpu === undefined) {
    try {
      getcpu = libc().lib.symbols.sched_getcpu ?? null;
    } catch {
      getcpu = null;
    }
  }
  return getcpu === null ? -1 : getcpu();
}

/**
 * Gives this CPU to another runnable thread (`sched_yield`). Returns false,
 * without yielding, where the system has no such call.
 */
export function yieldCpu(): boolean {
  if (yielder === undefined) {
    try {
      yielder = libc().lib.symbols.sched_yield ?? null;
    } catch {
      yielder = null;
    }
  }
  if (yielder === null) return false;
  yielder();
  return true;
}
