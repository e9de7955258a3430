/**
 * Who this process is, and whether another process still lives — for locks
 * that must survive their owner's crash.
 *
 * A process is named by its pid and its start time, so a recycled pid is not
 * mistaken for the owner that died. Linux reads the start time (clock ticks
 * after boot) and the state from `/proc/<pid>/stat`, through libc so that
 * Deno needs no read permission; a zombie counts as dead. macOS asks
 * `proc_pidinfo(pid, PROC_PIDTBSDINFO)` (libproc, fixed arguments) for the
 * status (a zombie counts as dead) and the start time, in ms since 1970
 * modulo 2^42; where it is refused (EPERM) `kill(pid, 0)` decides, with no
 * start time.
 *
 * @module
 */
import { cString } from "./cstring.ts";
import { errnoNumbers } from "./errno.ts";
import { darwinProcessSymbols, libc } from "./libc.ts";
import type { Libc } from "./libc.ts";
import type { ProcessProbe } from "../platform/contracts.ts";

/**
 * `struct proc_bsdinfo` (xnu bsd/sys/proc_info.h), as data: 136 bytes;
 * `pbi_status` u32 at 4 (SZOMB 5), `pbi_pid` u32 at 12, `pbi_start_tvsec`
 * u64 at 120, `pbi_start_tvusec` u64 at 128.
 */
export const PROC_BSDINFO = {
  PROC_PIDTBSDINFO: 3,
  bytes: 136,
  statusOffset: 4,
  pidOffset: 12,
  startSecOffset: 120,
  startUsecOffset: 128,
  SZOMB: 5,
} as const;

const START_MASK = (1n << 42n) - 1n;

/** Status and start (ms since 1970, modulo 2^42) read from a filled `proc_bsdinfo`. */
export function decodeBsdInfo(buffer: Uint8Array): { pid: number; zombie: boolean; start: number } {
  const v = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const p = PROC_BSDINFO;
  const ms = v.getBigUint64(p.startSecOffset, true) * 1000n + v.getBigUint64(p.startUsecOffset, true) / 1000n;
  return {
    pid: v.getUint32(p.pidOffset, true),
    zombie: v.getUint32(p.statusOffset, true) === p.SZOMB,
    start: Number(ms & START_MASK),
  };
}

/** The calls the Darwin probe makes, so that it can be checked with recorded answers. */
export interface DarwinProcessCalls {
  getpid(): number;
  kill(pid: number, signal: number): number;
  proc_pidinfo(pid: number, flavor: number, arg: number, buffer: Uint8Array, size: number): number;
  errno(): number;
}

/** The Darwin probe over `calls`. */
export function darwinProbe(calls: DarwinProcessCalls): ProcessProbe {
  const buffer = new Uint8Array(PROC_BSDINFO.bytes);
  /** The process's info; `null` when it does not exist; `undefined` when refused. */
  const info = (pid: number) => {
    const n = calls.proc_pidinfo(pid, PROC_BSDINFO.PROC_PIDTBSDINFO, 0, buffer, buffer.length);
    if (n === PROC_BSDINFO.bytes) return decodeBsdInfo(buffer);
    return calls.errno() === ESRCH ? null : undefined;
  };
  const pid = calls.getpid();
  const me = { pid, start: info(pid)?.start ?? 0 };
  return {
    self: () => me,
    alive(pid, start) {
      const bsd = info(pid);
      if (bsd === null) return false;
      if (bsd === undefined) return calls.kill(pid, 0) === 0 || calls.errno() !== ESRCH;
      if (bsd.zombie) return false;
      return start === 0 || bsd.start === start;
    },
  };
}

const ESRCH = errnoNumbers("darwin").ESRCH;

/** Fields of /proc/<pid>/stat after the command name: state, then field 4 onwards. */
function procStat(l: Libc, pid: number): { state: string; start: number } | undefined {
  const { open, read, close } = l.lib.symbols;
  if (!read) return undefined;
  const fd = open(cString(`/proc/${pid}/stat`), l.c.O_RDONLY, 0);
  if (fd < 0) return undefined;
  const buf = new Uint8Array(1024);
  const n = Number(read(fd, buf, buf.length));
  close(fd);
  if (n <= 0) return undefined;
  const text = new TextDecoder().decode(buf.subarray(0, n));
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); starttime is field 22.
  return { state: fields[0], start: Number(fields[19]) };
}

/** The Linux probe: `/proc/<pid>/stat`. */
export function linuxProcessProbe(): ProcessProbe {
  const l = libc();
  const pid = l.lib.symbols.getpid();
  const me = { pid, start: procStat(l, pid)?.start ?? 0 };
  return {
    self: () => me,
    alive(pid, start) {
      const stat = procStat(l, pid);
      if (stat === undefined) return false;
      if (stat.state === "Z" || stat.state === "X" || stat.state === "x") return false;
      return start === 0 || stat.start === start;
    },
  };
}

/** The macOS probe: `proc_pidinfo`, and `kill(pid, 0)` where that is refused. */
export function darwinProcessProbe(): ProcessProbe {
  const l = libc();
  const proc = darwinProcessSymbols(l);
  return darwinProbe({
    getpid: () => l.lib.symbols.getpid(),
    kill: (pid, signal) => l.lib.symbols.kill(pid, signal),
    proc_pidinfo: (pid, flavor, arg, buffer, size) => proc.proc_pidinfo(pid, flavor, arg, buffer, size),
    errno: () => l.errno(),
  });
}
