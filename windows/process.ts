/**
 * The Windows process probe for the Mutex: this process's id and creation
 * time, and whether the process that owned a lock still runs.
 *
 * A process is named by its id and creation time, so a reused id is not
 * mistaken for the owner that died. Ids are multiples of 4: the probe packs
 * `id / 4` (22 bits: ids below 2^24) and the creation time in milliseconds
 * modulo 2^42 (a period of 139 years), as the Mutex's owner word needs.
 *
 * Whether a process still runs is asked of the process object itself
 * (`WaitForSingleObject(handle, 0)` with `SYNCHRONIZE`): an exit code is
 * no witness, since a process may exit with 259 (`STILL_ACTIVE`). This
 * process's own creation time is read through a real handle from
 * `OpenProcess`, not the `GetCurrentProcess()` pseudo-handle: that all-ones
 * value does not survive Bun's pointer conversion (it arrives as
 * 0x8000000000000000, GetProcessTimes fails, and the start would be 0).
 * "No such process" is `ERROR_INVALID_PARAMETER` from OpenProcess, read by a
 * separate GetLastError call: a clobbered read can only make a dead owner
 * look alive (the lock then times out instead of being recovered), never
 * the reverse.
 *
 * @module
 */
import type { ProcessProbe } from "../platform/contracts.ts";
import { kernel32, WIN } from "./kernel32.ts";

/** Windows constants of the probe, as data. */
const W = {
  PROCESS_QUERY_LIMITED_INFORMATION: 0x1000,
  SYNCHRONIZE: 0x00100000,
  STILL_ACTIVE: 259,
  WAIT_OBJECT_0: 0,
  WAIT_TIMEOUT: 258,
  /** FILETIME ticks (100 ns) per millisecond. */
  TICKS_PER_MS: 10_000n,
  START_MASK: (1n << 42n) - 1n,
  PID_LIMIT: 2 ** 24,
} as const;

/** The Windows probe. */
export function windowsProcessProbe(): ProcessProbe {
  const k = kernel32().k.symbols;
  const times = Array.from({ length: 4 }, () => new BigUint64Array(1));

  /** Creation time of an open process, in ms modulo 2^42; undefined when unknown. */
  const created = (handle: bigint): number | undefined => {
    if (k.GetProcessTimes(handle, times[0], times[1], times[2], times[3]) === 0) return undefined;
    return Number((times[0][0] / W.TICKS_PER_MS) & W.START_MASK);
  };

  const id = k.GetCurrentProcessId();
  const own = k.OpenProcess(W.PROCESS_QUERY_LIMITED_INFORMATION, 0, id);
  let start = 0;
  if (own !== 0n) {
    start = created(own) ?? 0;
    k.CloseHandle(own);
  }
  const me = {
    // An id too large to pack becomes 1, that is id 4 (System): an owner always alive, never recovered.
    pid: id < W.PID_LIMIT ? id / 4 : 1,
    start,
  };
  return {
    self: () => me,
    alive(pid, start) {
      let synchronize = true;
      let handle = k.OpenProcess(W.PROCESS_QUERY_LIMITED_INFORMATION | W.SYNCHRONIZE, 0, pid * 4);
      if (handle === 0n) {
        const error = k.GetLastError();
        // No such process: the id is free.
        if (error === WIN.ERROR_INVALID_PARAMETER) return false;
        if (error !== WIN.ERROR_ACCESS_DENIED) return true;
        // SYNCHRONIZE refused (another user's process): ask the exit code instead.
        synchronize = false;
        handle = k.OpenProcess(W.PROCESS_QUERY_LIMITED_INFORMATION, 0, pid * 4);
        if (handle === 0n) return true;
      }
      try {
        if (synchronize) {
          // Signaled once the process has ended, whatever its exit code (259 included).
          if (k.WaitForSingleObject(handle, 0) === W.WAIT_OBJECT_0) return false;
        } else {
          const code = new Uint32Array(1);
          if (k.GetExitCodeProcess(handle, code) !== 0 && code[0] !== W.STILL_ACTIVE) return false;
        }
        const at = created(handle);
        return start === 0 || at === undefined || at === start;
      } finally {
        k.CloseHandle(handle);
      }
    },
  };
}
