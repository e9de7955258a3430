/**
 * Win32 error codes and the errno names they map to, so that a user's
 * `error.code` checks work the same on every platform. The Win32 number is
 * kept in `errno`.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import type { ErrnoCode } from "../platform/contracts.ts";

/** Win32 error → [errno name, what it means]. */
const WIN32: Readonly<Record<number, readonly [ErrnoCode, string]>> = {
  2: ["ENOENT", "ERROR_FILE_NOT_FOUND"],
  3: ["ENOENT", "ERROR_PATH_NOT_FOUND"],
  5: ["EACCES", "ERROR_ACCESS_DENIED"],
  6: ["EBADF", "ERROR_INVALID_HANDLE"],
  8: ["ENOMEM", "ERROR_NOT_ENOUGH_MEMORY"],
  14: ["ENOMEM", "ERROR_OUTOFMEMORY"],
  19: ["EROFS", "ERROR_WRITE_PROTECT"],
  32: ["EBUSY", "ERROR_SHARING_VIOLATION"],
  33: ["EBUSY", "ERROR_LOCK_VIOLATION"],
  39: ["ENOSPC", "ERROR_HANDLE_DISK_FULL"],
  80: ["EEXIST", "ERROR_FILE_EXISTS"],
  87: ["EINVAL", "ERROR_INVALID_PARAMETER"],
  112: ["ENOSPC", "ERROR_DISK_FULL"],
  123: ["EINVAL", "ERROR_INVALID_NAME"],
  161: ["ENOENT", "ERROR_BAD_PATHNAME"],
  183: ["EEXIST", "ERROR_ALREADY_EXISTS"],
  206: ["ENAMETOOLONG", "ERROR_FILENAME_EXCED_RANGE"],
  267: ["ENOTDIR", "ERROR_DIRECTORY"],
  487: ["EFAULT", "ERROR_INVALID_ADDRESS"],
  998: ["EFAULT", "ERROR_NOACCESS"],
  1006: ["EINVAL", "ERROR_FILE_INVALID"],
  1224: ["EBUSY", "ERROR_USER_MAPPED_FILE"],
  1305: ["EINVAL", "ERROR_UNKNOWN_REVISION"],
  1314: ["EPERM", "ERROR_PRIVILEGE_NOT_HELD"],
  1336: ["EINVAL", "ERROR_INVALID_ACL"],
  1337: ["EINVAL", "ERROR_INVALID_SECURITY_DESCR"],
  1450: ["ENOMEM", "ERROR_NO_SYSTEM_RESOURCES"],
  1455: ["ENOSPC", "ERROR_COMMITMENT_LIMIT"],
};

/** The errno name a Win32 error maps to (`EWIN<n>` when unknown). */
export function win32Code(error: number): ErrnoCode {
  return WIN32[error]?.[0] ?? `EWIN${error}`;
}

/**
 * A ShmError for `call` failing with Win32 error `error`, about `path`.
 * `code` and `what` override the table where a call gives an error its own
 * meaning (a mapping name taken by an event is ERROR_INVALID_HANDLE);
 * `hint` replaces the default hint for `code`.
 */
export function win32Error(
  call: string,
  error: number,
  path?: string,
  code = win32Code(error),
  what?: string,
  hint?: string,
): ShmError {
  what ??= WIN32[error]?.[1] ?? `Windows error ${error}`;
  const about = path === undefined ? "" : ` for '${path}'`;
  return new ShmError({
    code,
    errno: error,
    syscall: call,
    path,
    message: `${call} failed${about}: ${code} (${what})`,
    hint,
  });
}
