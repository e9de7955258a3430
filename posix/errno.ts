/**
 * errno numbers and their names, one table per operating system.
 *
 * @module
 */
import type { ErrnoCode } from "../platform/contracts.ts";

/**
 * The errno names shmem knows, with their Linux (asm-generic/errno*.h) and
 * Darwin (xnu bsd/sys/errno.h) numbers. Where two names share a number on
 * one system, the later row names it.
 */
const ERRNO = [
  ["EPERM", 1, 1, "Operation not permitted"],
  ["ENOENT", 2, 2, "No such file or directory"],
  ["ESRCH", 3, 3, "No such process"],
  ["EINTR", 4, 4, "Interrupted system call"],
  ["EIO", 5, 5, "Input/output error"],
  ["EBADF", 9, 9, "Bad file descriptor"],
  ["EAGAIN", 11, 35, "Resource temporarily unavailable"],
  ["ENOMEM", 12, 12, "Cannot allocate memory"],
  ["EACCES", 13, 13, "Permission denied"],
  ["EFAULT", 14, 14, "Bad address"],
  ["EBUSY", 16, 16, "Device or resource busy"],
  ["EEXIST", 17, 17, "File exists"],
  ["ENODEV", 19, 19, "No such device"],
  ["ENOTDIR", 20, 20, "Not a directory"],
  ["EISDIR", 21, 21, "Is a directory"],
  ["EINVAL", 22, 22, "Invalid argument"],
  ["ENFILE", 23, 23, "Too many open files in system"],
  ["EMFILE", 24, 24, "Too many open files"],
  ["ETXTBSY", 26, 26, "Text file busy"],
  ["EFBIG", 27, 27, "File too large"],
  ["ENOSPC", 28, 28, "No space left on device"],
  ["ESPIPE", 29, 29, "Illegal seek"],
  ["EROFS", 30, 30, "Read-only file system"],
  ["EPIPE", 32, 32, "Broken pipe"],
  ["EDEADLK", 35, 11, "Resource deadlock avoided"],
  ["ENAMETOOLONG", 36, 63, "File name too long"],
  ["ENOLCK", 37, 77, "No locks available"],
  ["ENOSYS", 38, 78, "Function not implemented"],
  ["ELOOP", 40, 62, "Too many levels of symbolic links"],
  ["EIDRM", 43, 90, "Identifier removed"],
  ["EOVERFLOW", 75, 84, "Value too large for defined data type"],
  // Darwin's ENOTSUP (45) is not EOPNOTSUPP (102); on Linux both are 95, named EOPNOTSUPP (the later row wins).
  ["ENOTSUP", 95, 45, "Operation not supported"],
  ["EOPNOTSUPP", 95, 102, "Operation not supported"],
  ["ETIMEDOUT", 110, 60, "Connection timed out"],
  ["EOWNERDEAD", 130, 105, "Owner died"],
  ["ENOTRECOVERABLE", 131, 104, "State not recoverable"],
  ["ENXIO", 6, 6, "No such device or address"],
  // Darwin's "attribute not found" from getxattr (sys/errno.h); Linux's xattr headers alias it to ENODATA.
  ["ENOATTR", 61, 93, "Attribute not found"],
  ["ENODATA", 61, 96, "No data available"],
] as const satisfies ReadonlyArray<readonly [name: string, linux: number, darwin: number, text: string]>;

/** The errno names the table knows. */
export type ErrnoName = typeof ERRNO[number][0];

/** An errno table for one OS. */
export interface ErrnoTable {
  /** The name of errno `n` (`EEXIST`), or `E<n>` when unknown. */
  name(n: number): ErrnoCode;
  /** The number of errno `name`, or `undefined` when unknown here. */
  number(name: string): number | undefined;
  /** A short description (`File exists`). */
  text(n: number): string;
}

/** Every known errno's number on one OS, by name: `errnoNumbers(c.os).EEXIST`. */
export type ErrnoNumbers = Readonly<Record<ErrnoName, number>>;

function table(column: 1 | 2): { table: ErrnoTable; numbers: ErrnoNumbers } {
  const byNumber = new Map<number, readonly [string, string]>();
  const numbers = {} as Record<ErrnoName, number>;
  for (const row of ERRNO) {
    byNumber.set(row[column], [row[0], row[3]]);
    numbers[row[0]] = row[column];
  }
  const byName: Readonly<Record<string, number>> = numbers;
  return {
    table: {
      name: (n) => (byNumber.get(n)?.[0] ?? `E${n}`) as ErrnoCode,
      number: (name) => Object.hasOwn(byName, name) ? byName[name] : undefined,
      text: (n) => byNumber.get(n)?.[1] ?? `Unknown error ${n}`,
    },
    numbers: Object.freeze(numbers),
  };
}

const TABLES: Readonly<Record<string, { table: ErrnoTable; numbers: ErrnoNumbers }>> = {
  linux: table(1),
  darwin: table(2),
};

/** The errno table of `os`; Linux numbering for other POSIX systems. */
export function errnoTable(os: string): ErrnoTable {
  return (TABLES[os] ?? TABLES.linux).table;
}

/** The errno numbers of `os` by name (Darwin's differ from Linux's); Linux numbering for other POSIX systems. */
export function errnoNumbers(os: string): ErrnoNumbers {
  return (TABLES[os] ?? TABLES.linux).numbers;
}
