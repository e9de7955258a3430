/**
 * Who this process is, and whether another process still lives — for locks
 * that must survive their owner's crash.
 *
 * A process is named by its pid and its start time, so a recycled pid is not
 * mistaken for the owner that died. Linux reads the start time (clock ticks
 * after boot) and the state from `/proc/<pid>/stat`, through libc so that
 * Deno needs no read permission; a zombie counts as dead. macOS asks
 * `kill(pid, 0)` and has no start time (a recycled pid looks alive).
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { SymbolTable } from "../ffi/mod.ts";
import { libc } from "./libc.ts";
import type { ProcessProbe } from "../internal/process_probe.ts";

const symbols = {
  // pid_t getpid(void);
  getpid: { parameters: [], result: "i32" },
  // int kill(pid_t pid, int sig);
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // int open(const char *pathname, int flags, ...);  (no mode: O_RDONLY)
  open: { parameters: ["buffer", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count);
  read: { parameters: ["i32", "buffer", "usize"], result: "i64" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies SymbolTable;

const encoder = new TextEncoder();
const ESRCH = 3; // the same on Linux and Darwin

/** Fields of /proc/<pid>/stat after the command name: state, then field 4 onwards. */
function procStat(lib: ReturnType<typeof load>, pid: number): { state: string; start: number } | undefined {
  const fd = lib.open(encoder.encode(`/proc/${pid}/stat\0`), 0 /* O_RDONLY */) as number;
  if (fd < 0) return undefined;
  const buf = new Uint8Array(1024);
  const n = Number(lib.read(fd, buf, buf.length));
  lib.close(fd);
  if (n <= 0) return undefined;
  const text = new TextDecoder().decode(buf.subarray(0, n));
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); starttime is field 22.
  return { state: fields[0], start: Number(fields[19]) };
}

function load() {
  return ffi.open(libc().c.libraries, symbols).symbols;
}

/** The probe of a POSIX system (`linux`, `darwin`), or `undefined` elsewhere. */
export function posixProcessProbe(): ProcessProbe | undefined {
  let probe: ProcessProbe | undefined;
  if (ffi.os === "linux") {
    const lib = load();
    const pid = lib.getpid() as number;
    const me = { pid, start: procStat(lib, pid)?.start ?? 0 };
    probe = {
      self: () => me,
      alive(pid, start) {
        const stat = procStat(lib, pid);
        if (stat === undefined) return false;
        if (stat.state === "Z" || stat.state === "X" || stat.state === "x") return false;
        return start === 0 || stat.start === start;
      },
    };
  } else if (ffi.os === "darwin") {
    const lib = load();
    const l = libc();
    const me = { pid: lib.getpid() as number, start: 0 };
    probe = {
      self: () => me,
      alive: (pid) => lib.kill(pid, 0) === 0 || l.errno() !== ESRCH,
    };
  }
  return probe;
}
