/**
 * The Windows process probe for the Mutex: this process's id and creation
 * time, and whether the process that owned a lock still runs.
 *
 * A process is named by its id and creation time, so a reused id is not
 * mistaken for the owner that died. Ids are multiples of 4: the probe packs
 * `id / 4` (22 bits: ids below 2^24) and the creation time in milliseconds
 * modulo 2^42 (a period of 139 years), as the Mutex's owner word needs.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { SymbolTable } from "../ffi/mod.ts";
import type { ProcessProbe } from "../internal/process_probe.ts";

const symbols = {
  // DWORD GetCurrentProcessId(void);
  GetCurrentProcessId: { parameters: [], result: "u32" },
  // HANDLE GetCurrentProcess(void);  (a pseudo-handle; needs no CloseHandle)
  GetCurrentProcess: { parameters: [], result: "pointer" },
  // HANDLE OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId);
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  // BOOL GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode);
  GetExitCodeProcess: { parameters: ["pointer", "buffer"], result: "i32" },
  // BOOL GetProcessTimes(HANDLE hProcess, LPFILETIME lpCreationTime, LPFILETIME lpExitTime,
  //                      LPFILETIME lpKernelTime, LPFILETIME lpUserTime);
  GetProcessTimes: { parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  // BOOL CloseHandle(HANDLE hObject);
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  // DWORD GetLastError(void);
  GetLastError: { parameters: [], result: "u32" },
} as const satisfies SymbolTable;

/** Windows constants of the probe, as data. */
const W = {
  PROCESS_QUERY_LIMITED_INFORMATION: 0x1000,
  STILL_ACTIVE: 259,
  ERROR_INVALID_PARAMETER: 87,
  /** FILETIME ticks (100 ns) per millisecond. */
  TICKS_PER_MS: 10_000n,
  START_MASK: (1n << 42n) - 1n,
  PID_LIMIT: 2 ** 24,
} as const;

/** The probe on `win32`, or `undefined` elsewhere. */
export function windowsProcessProbe(): ProcessProbe | undefined {
  if (ffi.os !== "win32") return undefined;
  const k = ffi.open(["kernel32.dll"], symbols).symbols;
  const times = Array.from({ length: 4 }, () => new BigUint64Array(1));

  /** Creation time of an open process, in ms modulo 2^42; undefined when unknown. */
  const created = (handle: bigint): number | undefined => {
    if (k.GetProcessTimes(handle, times[0], times[1], times[2], times[3]) === 0) return undefined;
    return Number((times[0][0] / W.TICKS_PER_MS) & W.START_MASK);
  };

  const id = k.GetCurrentProcessId() as number;
  const me = {
    // An id too large to pack becomes 1, that is id 4 (System): an owner always alive, never recovered.
    pid: id < W.PID_LIMIT ? id / 4 : 1,
    start: created(k.GetCurrentProcess() as bigint) ?? 0,
  };
  return {
    self: () => me,
    alive(pid, start) {
      const handle = k.OpenProcess(W.PROCESS_QUERY_LIMITED_INFORMATION, 0, pid * 4) as bigint;
      if (handle === 0n) {
        // No such process: the id is free. Any other failure (access denied): assume alive.
        return k.GetLastError() !== W.ERROR_INVALID_PARAMETER;
      }
      try {
        const code = new Uint32Array(1);
        if (k.GetExitCodeProcess(handle, code) !== 0 && code[0] !== W.STILL_ACTIVE) return false;
        const at = created(handle);
        return start === 0 || at === undefined || at === start;
      } finally {
        k.CloseHandle(handle);
      }
    },
  };
}
