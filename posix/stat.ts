/**
 * `fstat` and `lstat`: the one reader of `struct stat`, from the per-OS,
 * per-architecture layout in constants.ts (Linux x86-64, Linux arm64 and
 * Darwin's 64-bit-inode `stat` all differ).
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { PosixConstants, StatLayout } from "./constants.ts";
import { cString } from "./cstring.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";

/** The status fields shmem reads. */
export interface FileStatus {
  /** `st_mode & S_IFMT`. */
  readonly type: number;
  /** Permission bits, `st_mode & 0o7777`. */
  readonly mode: number;
  /** `st_size` in bytes. */
  readonly size: number;
  /** `st_dev`: with `ino`, which file a descriptor names. */
  readonly dev: bigint;
  readonly ino: bigint;
  /** Names referring to it: 0 once it was unlinked. */
  readonly nlink: number;
  readonly uid: number;
  /** Last status change, in ms since 1970. */
  readonly ctimeMs: number;
  /** Whether it is a regular file (`S_IFREG`). */
  readonly isFile: boolean;
}

function layoutOf(c: PosixConstants): StatLayout {
  const layout = c.stat[ffi.arch];
  if (!layout) throw new Error(`shmem does not know struct stat for ${c.os} on '${ffi.arch}'`);
  return layout;
}

/** Decodes a `struct stat` that `fstat`/`lstat` filled, laid out as `layout` says. */
export function decodeStat(c: PosixConstants, layout: StatLayout, buffer: Uint8Array): FileStatus {
  const v = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const mode = layout.modeBytes === 2 ? v.getUint16(layout.modeOffset, true) : v.getUint32(layout.modeOffset, true);
  const nlink = layout.nlinkBytes === 8
    ? Number(v.getBigUint64(layout.nlinkOffset, true))
    : layout.nlinkBytes === 4
    ? v.getUint32(layout.nlinkOffset, true)
    : v.getUint16(layout.nlinkOffset, true);
  const seconds = Number(v.getBigInt64(layout.ctimeOffset, true));
  const nanoseconds = Number(v.getBigInt64(layout.ctimeOffset + 8, true));
  return {
    type: mode & c.S_IFMT,
    mode: mode & 0o7777,
    size: Number(v.getBigInt64(layout.sizeOffset, true)),
    dev: c.os === "darwin" ? BigInt(v.getUint32(0, true)) : v.getBigUint64(0, true), // st_dev comes first
    ino: v.getBigUint64(layout.inoOffset, true),
    nlink,
    uid: v.getUint32(layout.uidOffset, true),
    ctimeMs: seconds * 1000 + Math.floor(nanoseconds / 1e6),
    isFile: (mode & c.S_IFMT) === c.S_IFREG,
  };
}

/** `fstat(fd)`; `undefined` when libc exports no `fstat` (glibc before 2.33). */
export function statDescriptor(l: Libc, fd: number, path?: string): FileStatus | undefined {
  const fstat = l.lib.symbols.fstat;
  if (!fstat) return undefined;
  const layout = layoutOf(l.c);
  const buffer = new Uint8Array(layout.bytes);
  if (fstat(fd, buffer) !== 0) throw errnoError(l.c.os, "fstat", l.errno(), path);
  return decodeStat(l.c, layout, buffer);
}

/** `fstat(fd)`; throws where libc exports no `fstat`. */
export function fileStat(l: Libc, fd: number, path?: string): FileStatus {
  const status = statDescriptor(l, fd, path);
  if (!status) throw new Error(`fstat is not available for ${l.c.os} on ${ffi.arch} (glibc 2.33 or later exports it)`);
  return status;
}

/** Whether {@link statPath} works here (glibc < 2.33 exports no `lstat`). */
export function canStatPaths(l: Libc): boolean {
  return l.lib.symbols.lstat !== undefined;
}

/** `lstat(path)`; `undefined` when the path does not exist (or cannot be read). */
export function statPath(l: Libc, path: string): FileStatus | undefined {
  const lstat = l.lib.symbols.lstat;
  if (!lstat) throw new Error("lstat is missing from libc (glibc 2.33 or newer is needed to list segments)");
  const layout = layoutOf(l.c);
  const buffer = new Uint8Array(layout.bytes);
  if (lstat(cString(path), buffer) !== 0) return undefined;
  return decodeStat(l.c, layout, buffer);
}
