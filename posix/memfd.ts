/**
 * Anonymous shared memory that cannot leak (Linux): a `memfd_create` object,
 * sized, reserved, and sealed against shrinking and growing, so nobody can
 * truncate it into a SIGBUS. It has no name anywhere; it lives while some
 * process holds a descriptor or a mapping of it, and the kernel frees it
 * when the last such process exits, however it exits.
 *
 * Another process of the same user opens it through the creator's
 * descriptor, `/proc/<pid>/fd/<fd>` (the kernel allows this to processes
 * that may inspect the holder: the same user, unless the holder made itself
 * non-dumpable). Opening that path makes a new descriptor of the same memory.
 *
 * @module
 */
import type { AnonymousRaw } from "../platform/contracts.ts";
import { ShmError, unsupportedError } from "../errors.ts";
import type { MemfdConstants } from "./constants.ts";
import { cString } from "./cstring.ts";
import { mapDescriptor, rawMapping, reserve } from "./descriptor.ts";
import { errnoNumbers } from "./errno.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";
import { fileStat } from "./stat.ts";
import { libc } from "./libc.ts";
const HANDLE = /^\/proc\/([1-9][0-9]{0,9})\/fd\/([0-9]{1,10})$/;

const HINTS: Readonly<Record<string, string>> = {
  ENOENT: "The handle's process has exited or closed it: ask a process that still holds the memory for its handle",
  EACCES:
    "Permission denied: only processes of the same user may open another's handle (and not one that made itself non-dumpable)",
  EPERM: "Permission denied: only processes of the same user may open another's handle",
  ENOSPC: "Not enough memory for this size",
  ENOMEM: "Not enough memory for this size",
};

function memfdLibc(): { l: Libc; m: MemfdConstants } {
  const hint = "on macOS, create a named Segment and unlink it as soon as every peer has opened it";
  const l = libc();
  const m = l.c.memfd;
  if (!m || !l.lib.symbols.memfd_create) throw unsupportedError("Anonymous shared memory (memfd_create)", l.c.os, hint);
  return { l, m };
}

function handleOf(l: Libc, fd: number): string {
  return `/proc/${l.lib.symbols.getpid()}/fd/${fd}`;
}

/** Checks a handle's form before any call; returns it. */
export function checkHandle(handle: unknown): string {
  if (typeof handle !== "string") throw new TypeError(`Handle must be a string, got ${typeof handle}`);
  if (!HANDLE.test(handle)) {
    throw new RangeError(`Handle must look like '/proc/<pid>/fd/<fd>', got ${JSON.stringify(handle)}`);
  }
  return handle;
}

/** Creates, reserves, seals and maps `size` bytes of anonymous shared memory. */
export function memfdCreate(size: number): AnonymousRaw {
  const { l, m } = memfdLibc();
  const { c, lib } = l;
  const fd = lib.symbols.memfd_create!(cString("shmem"), m.MFD_CLOEXEC | m.MFD_ALLOW_SEALING);
  if (fd < 0) throw errnoError(c.os, "memfd_create", l.errno(), undefined, HINTS);
  try {
    if (lib.symbols.ftruncate(fd, size) !== 0) throw errnoError(c.os, "ftruncate", l.errno(), undefined, HINTS);
    const error = reserve(l, fd, size);
    if (error !== undefined && error !== 0) throw errnoError(c.os, "posix_fallocate", error, undefined, HINTS);
    const seals = m.F_SEAL_SHRINK | m.F_SEAL_GROW | m.F_SEAL_SEAL;
    if (lib.symbols.fcntl(fd, m.F_ADD_SEALS, seals) !== 0) {
      throw errnoError(c.os, "fcntl", l.errno(), undefined, HINTS);
    }
    const address = mapDescriptor(l, fd, size, { writable: true, shared: true });
    return { raw: rawMapping(l, address, size, fd), handle: handleOf(l, fd) };
  } catch (error) {
    lib.symbols.close(fd);
    throw error;
  }
}

function notAnonymous(l: Libc, handle: string, syscall: string): ShmError {
  return new ShmError({
    code: "EINVAL",
    errno: errnoNumbers(l.c.os).EINVAL,
    syscall,
    path: handle,
    message: `'${handle}' is not an anonymous segment (memory sealed against shrinking): refusing to map it`,
    hint: "",
  });
}

/**
 * Opens the anonymous segment behind `handle` (already checked); `copy` maps
 * it private. A stale handle's descriptor number may now name a socket, a
 * pipe or a terminal, whose open fails (`ENXIO`) or acts: the handle is first
 * opened `O_PATH`, which opens nothing, and only a regular file is reopened.
 */
export function memfdOpen(handle: string, copy: boolean): AnonymousRaw {
  const { l, m } = memfdLibc();
  const { c, lib } = l;
  const probe = lib.symbols.open(cString(handle), m.O_PATH | c.O_CLOEXEC, 0);
  if (probe < 0) throw errnoError(c.os, "open", l.errno(), handle, HINTS);
  let fd: number;
  try {
    if (!fileStat(l, probe, handle).isFile) throw notAnonymous(l, handle, "fstat");
    const flags = (copy ? c.O_RDONLY : c.O_RDWR) | c.O_CLOEXEC | c.O_NONBLOCK;
    fd = lib.symbols.open(cString(`/proc/self/fd/${probe}`), flags, 0);
    if (fd < 0) throw errnoError(c.os, "open", l.errno(), handle, HINTS);
  } finally {
    lib.symbols.close(probe);
  }
  try {
    const seals = lib.symbols.fcntl(fd, m.F_GET_SEALS, 0);
    const stat = fileStat(l, fd, handle);
    if (seals < 0 || (seals & m.F_SEAL_SHRINK) === 0 || !stat.isFile || stat.size === 0) {
      throw notAnonymous(l, handle, "fcntl");
    }
    const address = mapDescriptor(l, fd, stat.size, { writable: true, shared: !copy, path: handle });
    return { raw: rawMapping(l, address, stat.size, fd), handle: handleOf(l, fd) };
  } catch (error) {
    lib.symbols.close(fd);
    throw error;
  }
}
