/**
 * The error every failed operating-system call becomes.
 *
 * @module
 */
import type { ShmErrorCode } from "./types.ts";

/** What a {@link ShmError} is made from. */
export interface ShmErrorInit {
  /** The errno name (`EEXIST`, `ENOENT`, ...) or an `ERR_...` code for non-system failures. */
  readonly code: ShmErrorCode;
  /** The numeric error: errno on POSIX, the Win32 error on Windows, 0 when none. */
  readonly errno: number;
  /** The call that failed (`shm_open`, `mmap`, `CreateFileMappingW`, ...). */
  readonly syscall?: string;
  /** The segment name or path involved, if any. */
  readonly path?: string;
  /** What happened, in words; a hint on what to do is added for known codes. */
  readonly message: string;
  /** The underlying error, if any. */
  readonly cause?: unknown;
  /** A hint on what to do, replacing the default one for `code` (`""` for none). */
  readonly hint?: string;
}

const HINTS: Readonly<Record<string, string>> = {
  EEXIST:
    "A segment with this name already exists: open it with open(), unlink it first, or pick another name (uniqueName() makes one)",
  ENOENT: "No segment has this name: create it first, or check the spelling (names are given without the leading '/')",
  EACCES:
    "Permission denied: another user owns it, or its mode does not allow this access (its creator can pass a wider mode)",
  EPERM: "Operation not permitted for this user",
  ENOSPC:
    "The shared-memory file system is full: free space, unlink unused segments, or raise its size (Docker: --shm-size)",
  ENOMEM: "Not enough memory or address space for this size",
  EMFILE: "This process has too many open files: close segments it no longer needs",
  ENFILE: "The system has too many open files",
  ENAMETOOLONG: "The name is too long for this platform",
  EINVAL: "The system rejected an argument",
  ERR_USE_AFTER_CLOSE: "Keep it open while you use it, or open it again",
};

/**
 * A failed shared-memory operation, shaped like Node's system errors: a
 * `code` naming the errno, the numeric `errno`, the failed `syscall` and the
 * `path` (segment name) involved.
 *
 * @example Telling "already exists" from other failures
 * ```ts
 * import { Segment, ShmError } from "./mod.ts";
 *
 * let seg: Segment;
 * try {
 *   seg = Segment.create("frames", { size: 4096 });
 * } catch (error) {
 *   if (!(error instanceof ShmError) || error.code !== "EEXIST") throw error;
 *   seg = Segment.open("frames");
 * }
 * seg.close();
 * Segment.unlink("frames");
 * ```
 */
export class ShmError extends Error {
  /** The errno name (`EEXIST`, `ENOENT`, `EACCES`, `ENOSPC`, ...) or an `ERR_...` code. */
  readonly code: ShmErrorCode;
  /** The numeric error (errno on POSIX, the Win32 error code on Windows; 0 when none). */
  readonly errno: number;
  /** The call that failed, such as `shm_open`; `undefined` when no call was made. */
  readonly syscall: string | undefined;
  /** The segment name or path involved, if any. */
  readonly path: string | undefined;

  /** Makes an error; the message gets a hint for well-known codes. */
  constructor(init: ShmErrorInit) {
    const hint = init.hint ?? HINTS[init.code];
    super(hint ? `${init.message}. ${hint}` : init.message, { cause: init.cause });
    this.name = "ShmError";
    this.code = init.code;
    this.errno = init.errno;
    this.syscall = init.syscall;
    this.path = init.path;
  }
}

const OS_NAMES: Readonly<Record<string, string>> = { win32: "Windows", darwin: "macOS", linux: "Linux" };

/** The name users know `os` by (`Windows`, `macOS`, ...). */
export function osName(os: string): string {
  return OS_NAMES[os] ?? os;
}

/** The `ERR_UNSUPPORTED` error for `feature` missing on `os`, with what to do instead. */
export function unsupportedError(feature: string, os: string, hint = ""): ShmError {
  return new ShmError({
    code: "ERR_UNSUPPORTED",
    errno: 0,
    message: `${feature} is not supported on ${osName(os)}${hint ? `: ${hint}` : ""}`,
  });
}
