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
import { shmName } from "./cstring.ts";
import { descriptorSize, mapAnonymous, mapDescriptor, rawMapping, reserve } from "./descriptor.ts";
import { errnoNumbers } from "./errno.ts";
import { ACCESS_HINTS, errnoError } from "./fail.ts";
import { libc } from "./libc.ts";
import { holdCreated, openHeld } from "./holders.ts";
import type { Libc } from "./libc.ts";
import { fileStat, statDescriptor } from "./stat.ts";

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
  const path = shmName(name);
  const fd = lib.symbols.shm_open(path, c.O_RDWR | c.O_CREAT | c.O_EXCL, request.mode);
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
    const error = request.reserve ? reserve(l, fd, request.size) : undefined;
    if (error !== undefined && error !== 0) throw errnoError(c.os, "posix_fallocate", error, name);
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
  const { lib } = l;
  const shared = mapDescriptor(l, fd, size, { writable: false, shared: true, path: name });
  let address: bigint;
  try {
    address = mapAnonymous(l, size, 0, name);
  } catch (error) {
    lib.symbols.munmap(shared, size);
    throw error;
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
    const status = statDescriptor(l, fd, name);
    if (status !== undefined && !status.isFile) {
      throw new ShmError({
        code: "EINVAL",
        errno: errnoNumbers(c.os).EINVAL,
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
        errno: errnoNumbers(c.os).EINVAL,
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
  if (l.lib.symbols.shm_unlink(shmName(name)) !== 0) {
    throw errnoError(l.c.os, "shm_unlink", l.errno(), name, ACCESS_HINTS.unlink);
  }
}

/** The POSIX named backend of the OS `c` describes. */
export function posixNamedBackend(c: PosixConstants): NamedBackend {
  return { nameRules: posixNameRules(c), maxSize: c.maxSize, persistent: true, create, open, unlink };
}
