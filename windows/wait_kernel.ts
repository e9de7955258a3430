/**
 * Waiting on shared memory on Windows in the kernel: a waiter sleeps on the
 * word's named wake semaphore (windows/wait_objects.ts) until a `notify`
 * from any process releases it.
 *
 * - `wait`: add 1 to the word's count semaphore, check the word, then
 *   `WaitForSingleObject` on the wake semaphore; take the 1 back on the way
 *   out. Registering before the check means a notifier that changed the word
 *   first either sees the waiter (and releases a unit it will take, even if
 *   it is not asleep yet) or the waiter sees the changed word: no lost wake.
 * - `notify(count)`: reads both counts (`NtQuerySemaphore`) and releases
 *   `min(count, waiters - units not yet taken)` units; returns that number.
 *   When waits end at the moment of a notify, a unit may be left over: the
 *   next waiter of that word wakes once spuriously (allowed: "ok" with the
 *   word unchanged), and the number returned may count a waiter that timed
 *   out instead.
 * - `waitAsync`: the process's {@link Waiter}, each call one
 *   `WaitForMultipleObjects` off the main thread over the group's control
 *   event (ringing it makes the call come back and sleep on the new set) and
 *   up to 63 wake semaphores (MAXIMUM_WAIT_OBJECTS is 64).
 *
 * Each kernel sleep lasts at most `SLICE_MS` (100 ms) before the word is
 * checked again, so a process whose `notify` only changes the word (an older
 * shmem, which polls on Windows) still wakes these waiters within about
 * 100 ms.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import { now, SLICE_MS } from "../ffi/mod.ts";
import type { WaitBackend, WaitResult } from "../platform/contracts.ts";
import { Waiter } from "../internal/waiter.ts";
import type { SleepEntry, Sleeper, SleepGroup } from "../internal/waiter.ts";
import { ShmError } from "../errors.ts";
import { win32Error } from "./errors.ts";
import { kernel32, WIN } from "./kernel32.ts";
import type { Kernel32 } from "./kernel32.ts";
import { doneWithWord, useWord, wordObjects } from "./wait_objects.ts";
import type { WordObjects } from "./wait_objects.ts";

/** Wake semaphores in one WaitForMultipleObjects call: all its handles but the control event. */
export const WORDS_PER_CALL = WIN.MAXIMUM_WAIT_OBJECTS - 1;

/** The async waits of this process on each address, and the objects they sleep on. */
type Registered = Map<bigint, { readonly objects: WordObjects; waits: number }>;

/** The Sleeper of `waitAsync`: groups of one control event and up to 63 wake semaphores. */
function windowsSleeper(w: Kernel32, registered: Registered): Sleeper {
  const k = w.k.symbols;
  const { MAXIMUM_WAIT_OBJECTS, WAIT_FAILED } = WIN;
  return {
    perCall: WORDS_PER_CALL,
    maxCalls: ffi.maxNonblocking,
    group(): SleepGroup {
      const control = k.CreateEventW(0n, 0, 0, 0n); // auto-reset, unnamed
      if (control === 0n) throw win32Error("CreateEventW", k.GetLastError());
      const list = k.LocalAlloc(WIN.LPTR, MAXIMUM_WAIT_OBJECTS * 8);
      if (list === 0n) {
        const error = k.GetLastError();
        k.CloseHandle(control);
        throw win32Error("LocalAlloc", error);
      }
      // Kept for the life of the process, like the group: a call may still read it.
      const handles = new BigUint64Array(ffi.view(list, MAXIMUM_WAIT_OBJECTS * 8));
      // Which entry each slot stands for (a word waited on twice is in the list once: no duplicate handles).
      const entryOf: number[] = [];
      const fill = (entries: readonly SleepEntry[]): number => {
        handles[0] = control;
        const seen = new Set<bigint>();
        let n = 1;
        entries.forEach((e, i) => {
          const wake = registered.get(e.address)?.objects.wake;
          if (wake === undefined || seen.has(wake) || n >= MAXIMUM_WAIT_OBJECTS) return;
          seen.add(wake);
          handles[n] = wake;
          entryOf[n++] = i;
        });
        return n;
      };
      return {
        async sleep(entries, untilMs) {
          const n = fill(entries);
          const ms = Math.max(0, Math.ceil(untilMs - now()));
          const r = Number(await k.WaitForMultipleObjectsAsync(n, list, 0, ms));
          return r >= 1 && r < n ? entryOf[r] : -1;
        },
        ring() {
          k.SetEvent(control);
        },
        diagnose(entries) {
          const n = fill(entries);
          const r = Number(k.WaitForMultipleObjects(n, list, 0, 0));
          if (r === WAIT_FAILED) return win32Error("WaitForMultipleObjects", k.GetLastError());
          // The check took a unit meant for a waiter: give it back.
          if (r >= 1 && r < n) k.ReleaseSemaphore(handles[r], 1, 0n);
          return undefined;
        },
      };
    },
  };
}

/**
 * The kernel backend, or `undefined` when this Windows lacks what it needs
 * (NtQuerySemaphore). Words outside named mappings, and words whose objects
 * cannot be made, go to `fallback` (polling).
 */
export function kernelWaitBackend(fallback: WaitBackend): WaitBackend | undefined {
  const w = kernel32();
  const query = w.nt?.symbols.NtQuerySemaphore;
  if (query === undefined) return undefined;
  const k = w.k.symbols;
  const info = new Int32Array(WIN.SEMAPHORE_BASIC_INFORMATION.bytes / 4);
  const countOf = (handle: bigint): number =>
    query(handle, WIN.SEMAPHORE_BASIC_INFORMATION.class, info, info.byteLength, 0n) === 0 ? info[0] : -1;
  const registered: Registered = new Map();
  const waiter = new Waiter(windowsSleeper(w, registered));

  /** Counts this process as a waiter of the word; false when the count cannot take one more. */
  const enter = (objects: WordObjects): boolean => {
    if (k.ReleaseSemaphore(objects.count, 1, 0n) === 0) return false;
    useWord(objects);
    return true;
  };
  const leave = (objects: WordObjects): void => {
    k.WaitForSingleObject(objects.count, 0);
    doneWithWord(objects);
  };

  return {
    wait(word, address, expected, timeoutMs): WaitResult {
      const objects = wordObjects(address, true);
      if (objects === undefined || !enter(objects)) return fallback.wait(word, address, expected, timeoutMs);
      try {
        const deadline = now() + timeoutMs;
        for (;;) {
          if (word.length === 0) {
            throw new ShmError({
              code: "ERR_USE_AFTER_CLOSE",
              errno: 0,
              message: "The memory was closed while waiting on it",
            });
          }
          if (Atomics.load(word, 0) !== expected) return "ok";
          const left = deadline - now();
          if (left <= 0) return "timed-out";
          const r = k.WaitForSingleObject(objects.wake, Math.min(Math.ceil(left), SLICE_MS));
          if (r === WIN.WAIT_OBJECT_0) return "ok";
          // WAIT_TIMEOUT: check the word (an older shmem only changes it) and the clock, then sleep again.
          if (r !== WIN.WAIT_TIMEOUT) throw win32Error("WaitForSingleObject", k.GetLastError());
        }
      } finally {
        leave(objects);
      }
    },
    notify(_word, address, count) {
      const objects = wordObjects(address, false);
      if (objects === undefined) return 0; // no process ever waited on this word
      const waiters = countOf(objects.count);
      const untaken = countOf(objects.wake);
      if (waiters < 0 || untaken < 0) return 0;
      const n = Math.min(count, waiters - untaken);
      if (n <= 0) return 0;
      // Fails only past SEMAPHORE_MAX units (ERROR_TOO_MANY_POSTS): nobody more to wake.
      return k.ReleaseSemaphore(objects.wake, n, 0n) === 0 ? 0 : n;
    },
    async waitAsync(word, address, expected, timeoutMs) {
      const objects = wordObjects(address, true);
      if (objects === undefined || !enter(objects)) return fallback.waitAsync(word, address, expected, timeoutMs);
      let entry = registered.get(address);
      // A new mapping at the address of a closed one: its waits are on their way out.
      if (entry === undefined || entry.objects !== objects) registered.set(address, entry = { objects, waits: 0 });
      entry.waits++;
      try {
        return await waiter.wait(word, address, expected, timeoutMs);
      } finally {
        if (--entry.waits === 0 && registered.get(address) === entry) registered.delete(address);
        leave(objects);
      }
    },
  };
}
