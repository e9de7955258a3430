/**
 * Files mapped into memory: `open`, `fstat`, `posix_fallocate`/`ftruncate`,
 * `mmap`, `msync`.
 *
 * A mapping never reaches past the end of the file: the size is checked
 * (or the file grown) before `mmap`, because touching a page past the end
 * kills the process with SIGBUS. The one SIGBUS no library can prevent is
 * another process truncating the file while it is mapped.
 *
 * @module
 */
import type { FileBackend, FileOpenRequest, OpenFile, RawMapping } from "../platform/contracts.ts";
import { ShmError } from "../errors.ts";
import { cString } from "./cstring.ts";
import { mapDescriptor, reserve } from "./descriptor.ts";
import { errnoNumbers } from "./errno.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";
import { fileStat } from "./stat.ts";
import { libc } from "./libc.ts";

/** What to do about a failed call on a file. */
const HINTS: Readonly<Record<string, string>> = {
  ENOENT: "No file at this path: check it, or pass { create: true } to create the file",
  EEXIST: "A file exists at this path",
  EACCES: "Permission denied: open it with { readOnly: true }, or change the file's mode",
  EROFS: "The file system is read-only: open it with { readOnly: true }",
  ENOSPC: "The disk is full: free space or ask for a smaller size",
  EISDIR: "Only regular files can be mapped",
  ENOTDIR: "A part of the path is not a directory",
  ETXTBSY: "The file is a running program",
};

function invalid(
  l: Libc,
  path: string,
  syscall: string,
  message: string,
  code: "EINVAL" | "EISDIR" = "EINVAL",
): ShmError {
  const errno = errnoNumbers(l.c.os)[code];
  return new ShmError({ code, errno, syscall, path, message, hint: HINTS[code] ?? "" });
}

/** Opens `path`; creates it when asked. Reports whether this call created it. */
function openFile(l: Libc, cPath: Uint8Array, path: string, flags: number, request: FileOpenRequest) {
  const { c, lib } = l;
  const { EEXIST, ENOENT } = errnoNumbers(c.os);
  for (let attempt = 0; attempt < 8; attempt++) {
    if (request.create) {
      const fd = lib.symbols.open(cPath, flags | c.O_CREAT | c.O_EXCL, request.mode);
      if (fd >= 0) return { fd, created: true };
      const errno = l.errno();
      if (errno !== EEXIST) throw errnoError(c.os, "open", errno, path, HINTS);
    }
    const fd = lib.symbols.open(cPath, flags, 0);
    if (fd >= 0) return { fd, created: false };
    const errno = l.errno();
    // Removed between the two calls: try creating it again.
    if (!(request.create && errno === ENOENT)) throw errnoError(c.os, "open", errno, path, HINTS);
  }
  throw errnoError(c.os, "open", ENOENT, path, HINTS);
}

/** Reserves (or at least sets) the file's length to `size`. */
function grow(l: Libc, fd: number, size: number, path: string): void {
  const { c, lib } = l;
  const error = reserve(l, fd, size);
  if (error === 0) return;
  if (error !== undefined) {
    // EOPNOTSUPP (musl on a file system without fallocate) or ENOSYS: set the length only.
    const { EOPNOTSUPP, ENOSYS } = errnoNumbers(c.os);
    if (error !== EOPNOTSUPP && error !== ENOSYS) throw errnoError(c.os, "posix_fallocate", error, path, HINTS);
  }
  if (lib.symbols.ftruncate(fd, size) !== 0) throw errnoError(c.os, "ftruncate", l.errno(), path, HINTS);
}

/** Opens `path` for mapping (see {@link FileOpenRequest}); the caller decides the size and undoes on failure. */
function open(path: string, request: FileOpenRequest): OpenFile {
  const l = libc();
  const { c, lib } = l;
  const cPath = cString(path);
  const flags = (request.copy ? c.O_RDONLY : c.O_RDWR) | c.O_CLOEXEC | c.O_NONBLOCK;
  const { fd, created } = openFile(l, cPath, path, flags, request);
  const abandon = (grownFrom: number | undefined) => {
    if (created) lib.symbols.unlink(cPath);
    else if (grownFrom !== undefined) lib.symbols.ftruncate(fd, grownFrom);
    lib.symbols.close(fd);
  };
  try {
    const stat = fileStat(l, fd, path);
    if (stat.type === c.S_IFDIR) throw invalid(l, path, "open", `'${path}' is a directory, not a file`, "EISDIR");
    if (!stat.isFile) {
      throw invalid(
        l,
        path,
        "open",
        `'${path}' is not a regular file (a device, FIFO or socket cannot be mapped safely)`,
      );
    }
    // Exact mode whatever the umask; also fixes a variadic mode lost on Apple arm64.
    if (created && lib.symbols.fchmod(fd, request.mode) !== 0) throw errnoError(c.os, "fchmod", l.errno(), path, HINTS);
    return {
      size: stat.size,
      created,
      maxSize: c.maxSize,
      grow: (size) => grow(l, fd, size, path),
      refusal: (_reason, message) => invalid(l, path, "mmap", message),
      map(size) {
        const address = mapDescriptor(l, fd, size, { writable: true, shared: !request.copy, path });
        lib.symbols.close(fd); // the mapping keeps the file open
        const page = lib.symbols.getpagesize();
        const raw: RawMapping = {
          address,
          size,
          handle: -1,
          release(keepMapped = false) {
            if (!keepMapped) lib.symbols.munmap(address, size);
          },
        };
        const flush = (offset: number, length: number) => {
          if (request.copy || length === 0) return;
          const start = offset - (offset % page);
          if (lib.symbols.msync(address + BigInt(start), offset + length - start, c.MS_SYNC) !== 0) {
            throw errnoError(c.os, "msync", l.errno(), path, HINTS);
          }
        };
        return { raw, flush };
      },
      abandon,
    };
  } catch (error) {
    abandon(undefined);
    throw error;
  }
}

/** Mapping regular files through libc. */
export const posixFileBackend: FileBackend = { open };
