/**
 * Who this process is, and whether another one still lives: what the Mutex
 * asks of the OS to recover a lock whose owner died. The probe is chosen by
 * OS; a system without one counts every process as alive.
 *
 * @module
 */
import { posixProcessProbe } from "../posix/process.ts";
import { windowsProcessProbe } from "../windows/process.ts";

/** A live process as the probe sees it. Both numbers must fit the Mutex's owner word (22 and 42 bits). */
export interface ProcessIdentity {
  /** The pid as the probe packs it (Windows: the pid divided by 4, as pids are multiples of 4). */
  readonly pid: number;
  /**
   * Start time in the OS's unit (Linux: clock ticks after boot; macOS and
   * Windows: ms since 1970, modulo 2^42); 0 when the OS does not tell.
   */
  readonly start: number;
}

/** What the lock code asks of the OS. */
export interface ProcessProbe {
  /** This process. */
  self(): ProcessIdentity;
  /** False only when the process `pid` that started at `start` has certainly ended. */
  alive(pid: number, start: number): boolean;
}

let probe: ProcessProbe | undefined;

/** The probe of this OS. */
export function processProbe(): ProcessProbe {
  if (probe) return probe;
  probe = posixProcessProbe() ?? windowsProcessProbe();
  if (!probe) {
    const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
    probe = { self: () => ({ pid, start: 0 }), alive: () => true };
  }
  return probe;
}
