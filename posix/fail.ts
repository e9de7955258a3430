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
