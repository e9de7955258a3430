/**
 * What every POSIX backend does with an open descriptor: read its size,
 * reserve its memory, map it, and release the mapping.
 *
 * @module
 */
import type { RawMapping } from "../platform/contracts.ts";
import { mapFailed } from "./constants.ts";
import { errnoNumbers } from "./errno.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";
import { fileStat } from "./stat.ts";

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
  const address = lib.symbols.mmap(0n, size, prot, flags, fd, options.offset ?? 0);
  if (mapFailed(address)) throw errnoError(c.os, "mmap", l.errno(), options.path);
  return address;
}

/** `size` bytes of private anonymous memory (`flags` adds to `MAP_PRIVATE | MAP_ANONYMOUS`); throws on failure. */
export function mapAnonymous(
  l: Libc,
  size: number,
  flags: number,
  path?: string,
  hints?: Readonly<Record<string, string>>,
): bigint {
  const { c, lib } = l;
  const address = lib.symbols.mmap(
    0n,
    size,
    c.PROT_READ | c.PROT_WRITE,
    c.MAP_PRIVATE | c.MAP_ANONYMOUS | flags,
    -1,
    0,
  );
  if (mapFailed(address)) throw errnoError(c.os, "mmap", l.errno(), path, hints);
  return address;
}

/** The size of the object behind `fd`: `lseek` to its end, or `fstat` where descriptors cannot seek (Darwin shm). */
export function descriptorSize(l: Libc, fd: number, path?: string): number {
  const { c, lib } = l;
  if (c.sizeBy.call === "fstat") return fileStat(l, fd, path).size;
  const end = Number(lib.symbols.lseek(fd, 0, c.sizeBy.whence));
  if (end < 0) throw errnoError(c.os, "lseek", l.errno(), path);
  return end;
}

/**
 * `posix_fallocate(fd, 0, size)`, called again while a signal interrupts it:
 * 0 or the errno it returned, or `undefined` where this system cannot reserve
 * memory up front (Darwin, or a libc without it).
 */
export function reserve(l: Libc, fd: number, size: number): number | undefined {
  const fallocate = l.lib.symbols.posix_fallocate;
  if (!l.c.canReserve || !fallocate) return undefined;
  const EINTR = errnoNumbers(l.c.os).EINTR;
  let error: number;
  do error = fallocate(fd, 0, size); while (error === EINTR);
  return error;
}

/** A RawMapping that unmaps and closes `fd` on release. */
export function rawMapping(l: Libc, address: bigint, size: number, fd: number): RawMapping {
  return {
    address,
    size,
    handle: fd,
    fd,
    release(keepMapped = false) {
      if (!keepMapped) l.lib.symbols.munmap(address, size);
      l.lib.symbols.close(fd);
    },
  };
}
