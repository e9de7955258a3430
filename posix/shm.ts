/**
 * Named POSIX shared memory: `shm_open`, `ftruncate`, `posix_fallocate`,
 * `mmap`, `munmap`, `shm_unlink`.
 *
 * @module
 */
import type { CreateRequest, NamedBackend, OpenRequest, RawMapping } from "../platform/contracts.ts";
import type { NameRules } from "../names.ts";
import { ShmError } from "../errors.ts";
import type { PosixConstants } from "./constants.ts";
import { ACCESS_HINTS, errnoError } from "./fail.ts";
import { libc } from "./libc.ts";
import { holdCreated, openHeld } from "./holders.ts";
import type { Libc } from "./libc.ts";
import { fileStat } from "./stat.ts";

const MAP_FAILED = (1n << 64n) - 1n;
const encoder = new TextEncoder();

/** The C string `/<name>\0`. */
function cName(name: string): Uint8Array {
  return encoder.encode(`/${name}\0`);
}

/** The platform's name rules, from its constants. */
export function posixNameRules(c: PosixConstants): NameRules {
  return {
    platform: c.os === "darwin" ? "macOS" : "Linux",
    maxUnits: c.maxNameBytes,
    unit: "utf8",
    prefixUnits: 1,
    forbidden: [],
  };
}

/** Maps `size` bytes of `fd`; throws a ShmError on failure (the caller cleans up). */
export function mapDescriptor(
  l: Libc,
  fd: number,
  size: number,
  options: { writable: boolean; shared: boolean; offset?: number; path?: string },
): bigint {
  const { c, lib } = l;
  const prot = options.shared && !options.writable ? c.PROT_READ : c.PROT_READ | c.PROT_WRITE;
  const flags = options.shared ? c.MAP_SHARED : c.MAP_PRIVATE;
  const address = lib.symbols.mmap(0n, size, prot, flags, fd, options.offset ?? 0) as bigint;
  if (address === MAP_FAILED || address === 0n) {
    throw errnoError(c.os, "mmap", l.errno(), options.path);
  }
  return address;
}

/** The size of the object behind `fd`. */
export function descriptorSize(l: Libc, fd: number, path?: string): number {
  const { c, lib } = l;
  if (c.sizeBy.call === "lseek") {
    const end = Number(lib.symbols.lseek(fd, 0, c.sizeBy.whence));
    if (end < 0) throw errnoError(c.os, "lseek", l.errno(), path);
    return end;
  }
  const fstat = lib.symbols.fstat;
  if (!fstat) throw new Error("fstat is missing from libc");
  const stat = new Uint8Array(c.sizeBy.statBytes);
  if (fstat(fd, stat) !== 0) throw errnoError(c.os, "fstat", l.errno(), path);
  return Number(new DataView(stat.buffer).getBigInt64(c.sizeBy.sizeOffset, true));
}

/** A RawMapping that unmaps and closes `fd` on release. */
export function rawMapping(l: Libc, address: bigint, size: number, fd: number): RawMapping {
  return {
    address,
    size,
    handle: fd,
    release(keepMapped = false) {
      if (!keepMapped) l.lib.symbols.munmap(address, size);
      l.lib.symbols.close(fd);
    },
  };
}

/**
 * Creates `/<name>` with exactly `request.mode`. Linux: `shm_open` (the umask
 * applies), then `fchmod` for the exact mode. Darwin: `fchmod` on a POSIX shm
 * descriptor fails with EINVAL (xnu kern_descrip.c: `fchmod1` needs a vnode;
 * iceoryx2 issue 156) and the kernel applies no umask to shm modes (xnu
 * posix_shm.c), so the mode comes from `shm_open` itself — which is why its
 * variadic mode is declared per architecture (libc.ts) — and `fstat` then
 * proves it arrived: a mismatch is refused, never handed out.
 */
export function createWith(l: Libc, name: string, request: CreateRequest): RawMapping {
  const { c, lib } = l;
  const path = cName(name);
  const fd = lib.symbols.shm_open(path, c.O_RDWR | c.O_CREAT | c.O_EXCL, request.mode) as number;
  if (fd < 0) throw errnoError(c.os, "shm_open", l.errno(), name);
  try {
    if (c.shmMode === "fchmod") {
      // Exact mode whatever the umask.
      if (lib.symbols.fchmod(fd, request.mode) !== 0) {
        throw errnoError(c.os, "fchmod", l.errno(), name);
      }
    } else {
      const mode = fileStat(l, fd, name).mode & 0o777;
      if (mode !== (request.mode & 0o777)) {
        throw new ShmError({
          code: "ERR_MODE",
          errno: 0,
          syscall: "shm_open",
          path: name,
          message: `Segment '${name}' was created with mode 0o${mode.toString(8)}, not the requested 0o${
            (request.mode & 0o777).toString(8)
          }`,
          hint: "The mode is passed to shm_open as a variadic argument; report this with your OS and architecture",
        });
      }
    }
    holdCreated(l, fd, name, request.track ?? true);
    if (lib.symbols.ftruncate(fd, request.size) !== 0) {
      throw errnoError(c.os, "ftruncate", l.errno(), name);
    }
    const fallocate = lib.symbols.posix_fallocate;
    if (request.reserve && c.canReserve && fallocate) {
      let error: number;
      do error = fallocate(fd, 0, request.size) as number; while (error === 4 /* EINTR */);
      if (error !== 0) throw errnoError(c.os, "posix_fallocate", error, name);
    }
    const address = mapDescriptor(l, fd, request.size, { writable: true, shared: true, path: name });
    return rawMapping(l, address, request.size, fd);
  } catch (error) {
    lib.symbols.close(fd);
    lib.symbols.shm_unlink(path);
    throw error;
  }
}

function create(name: string, request: CreateRequest): RawMapping {
  return createWith(libc(), name, request);
}

/**
 * A read-only or private open where the shm object cannot be mapped
 * `MAP_PRIVATE` (Darwin: `pshm_mmap` refuses anything without `MAP_SHARED`,
 * EINVAL, and `PROT_WRITE` on an `O_RDONLY` descriptor is EPERM; xnu
 * posix_shm.c). A view of a `PROT_READ` mapping would kill the process on a
 * stray write, so the object is mapped shared and read-only, copied into
 * private anonymous memory, and only the copy is handed out; `refresh()`
 * copies from the shared pages again (as SysV read-only opens do).
 */
function copiedMapping(l: Libc, fd: number, size: number, name: string): RawMapping {
  const { c, lib } = l;
  const shared = mapDescriptor(l, fd, size, { writable: false, shared: true, path: name });
  const address = lib.symbols.mmap(
    0n,
    size,
    c.PROT_READ | c.PROT_WRITE,
    c.MAP_PRIVATE | c.MAP_ANONYMOUS,
    -1,
    0,
  ) as bigint;
  if (address === MAP_FAILED || address === 0n) {
    const errno = l.errno();
    lib.symbols.munmap(shared, size);
    throw errnoError(c.os, "mmap", errno, name);
  }
  lib.symbols.memcpy(address, shared, size);
  let live = true;
  return {
    address,
    size,
    handle: fd,
    release(keepMapped = false) {
      live = false;
      lib.symbols.munmap(shared, size);
      if (!keepMapped) lib.symbols.munmap(address, size);
      lib.symbols.close(fd);
    },
    refresh(offset: number, length: number) {
      if (live) lib.symbols.memcpy(address + BigInt(offset), shared + BigInt(offset), length);
    },
  };
}

/** Opens `/<name>`; see {@link copiedMapping} for read-only and private opens on Darwin. */
export function openWith(l: Libc, name: string, request: OpenRequest): RawMapping {
  const { c, lib } = l;
  const copy = request.readOnly || request.private;
  // Non-blocking: a FIFO planted under the name must not block the open (the flag is harmless for mmap).
  let fd: number;
  try {
    fd = openHeld(l, name, (copy ? c.O_RDONLY : c.O_RDWR) | c.O_NONBLOCK);
  } catch (error) {
    if (error instanceof ShmError && error.code === "EACCES") {
      throw errnoError(
        c.os,
        error.syscall ?? "shm_open",
        error.errno,
        name,
        ACCESS_HINTS[copy ? "readOnly" : "readWrite"],
      );
    }
    throw error;
  }
  try {
    // The file type from this OS's own struct stat layout (Linux and Darwin differ); skipped where libc exports no fstat.
    const status = lib.symbols.fstat !== undefined ? fileStat(l, fd, name) : undefined;
    if (status !== undefined && status.type !== c.S_IFREG) {
      throw new ShmError({
        code: "EINVAL",
        errno: 22, // EINVAL on Linux and Darwin
        syscall: "shm_open",
        path: name,
        message: `'${name}' is not a shared memory object (a FIFO, socket, device or directory has that name): ` +
          `refusing to map it`,
        hint: "",
      });
    }
    // Where the size comes from fstat (Darwin), the call just made gave it.
    const size = status !== undefined && c.sizeBy.call === "fstat" ? status.size : descriptorSize(l, fd, name);
    if (size === 0) {
      throw new ShmError({
        code: "EINVAL",
        errno: 22, // EINVAL on Linux and Darwin
        syscall: "mmap",
        path: name,
        message: `Segment '${name}' has size 0 and cannot be mapped (its creator may not have sized it yet; try again)`,
      });
    }
    if (copy && c.shmCopyOnWrite === "copy") return copiedMapping(l, fd, size, name);
    // Read-only and copy-on-write opens map MAP_PRIVATE and writable: a stray
    // write lands in a private copy instead of faulting, and nobody else sees it.
    const address = mapDescriptor(l, fd, size, { writable: true, shared: !copy, path: name });
    return rawMapping(l, address, size, fd);
  } catch (error) {
    lib.symbols.close(fd);
    throw error;
  }
}

function open(name: string, request: OpenRequest): RawMapping {
  return openWith(libc(), name, request);
}

function unlink(name: string): void {
  const l = libc();
  if (l.lib.symbols.shm_unlink(cName(name)) !== 0) {
    throw errnoError(l.c.os, "shm_unlink", l.errno(), name, ACCESS_HINTS.unlink);
  }
}

/** The POSIX named backend of the OS `c` describes. */
export function posixNamedBackend(c: PosixConstants): NamedBackend {
  return { nameRules: posixNameRules(c), maxSize: c.maxSize, persistent: true, create, open, unlink };
}
