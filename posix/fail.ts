/**
 * Turns a failed libc call into a {@link ShmError}.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { errnoTable } from "./errno.ts";

/** A ShmError for `syscall` failing with `errno` on `os`, about `path`. */
export function errnoError(
  os: string,
  syscall: string,
  errno: number,
  path?: string,
  hints?: Readonly<Record<string, string>>,
): ShmError {
  const table = errnoTable(os);
  const code = table.name(errno);
  const about = path === undefined ? "" : ` for '${path}'`;
  return new ShmError({
    code,
    errno,
    syscall,
    path,
    message: `${syscall} failed${about}: ${code} (${table.text(errno)})`,
    hint: hints?.[code],
  });
}

/** EACCES hints that fit what was asked: a read-write open, a read-only open, an unlink. */
export const ACCESS_HINTS: Readonly<Record<"readWrite" | "readOnly" | "unlink", Readonly<Record<string, string>>>> = {
  readWrite: {
    EACCES:
      "Permission denied: its mode does not let this user write it (open it with { readOnly: true } if reading is enough, or ask its creator for a wider mode)",
  },
  readOnly: {
    EACCES: "Permission denied: its mode does not let this user read it (ask its creator for a wider mode)",
  },
  unlink: {
    EACCES: "Permission denied: only its owner (or root) may remove it",
    EPERM: "Not permitted: only its owner (or root) may remove it",
  },
};
