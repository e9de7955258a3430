/**
 * `fstat` of an open descriptor: its file type and size, read from the
 * per-OS `struct stat` layout in constants.ts.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";

/** What shmem needs from `struct stat`. */
export interface FileStat {
  /** `st_mode & S_IFMT`. */
  readonly type: number;
  /** Permission bits, `st_mode & 0o7777`. */
  readonly mode: number;
  /** `st_size` in bytes. */
  readonly size: number;
}

/** The type, mode and size of the object behind `fd`. */
export function fileStat(l: Libc, fd: number, path?: string): FileStat {
  const { c, lib } = l;
  const layout = c.stat[ffi.arch];
  const fstat = lib.symbols.fstat;
  if (!layout || !fstat) {
    throw new Error(`fstat is not available for ${c.os} on ${ffi.arch} (glibc 2.33 or later exports it)`);
  }
  const buffer = new Uint8Array(layout.bytes);
  if (fstat(fd, buffer) !== 0) throw errnoError(c.os, "fstat", l.errno(), path);
  const data = new DataView(buffer.buffer);
  const mode = layout.modeBytes === 2
    ? data.getUint16(layout.modeOffset, true)
    : data.getUint32(layout.modeOffset, true);
  return { type: mode & c.S_IFMT, mode: mode & 0o7777, size: Number(data.getBigInt64(layout.sizeOffset, true)) };
}
