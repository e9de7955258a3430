/**
 * Reading a directory and a file's status through libc, not `node:fs`: Deno
 * asks for `--allow-all` before `node:fs` may touch /dev/shm (denoland/deno
 * issue 30979), while shmem already runs with `--allow-ffi`.
 *
 * `struct stat` and `struct dirent` layouts are data, per architecture.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";

/** Where the fields shmem reads sit in `struct stat` and `struct dirent` (Linux). */
interface Layout {
  readonly statBytes: number;
  readonly ino: number;
  /** `st_nlink`: its offset and width (8 bytes on x86-64, 4 on arm64). */
  readonly nlink: { readonly offset: number; readonly bytes: 4 | 8 };
  readonly mode: number;
  readonly uid: number;
  readonly size: number;
  /** `st_ctim`: `tv_sec` (i64) then `tv_nsec` (i64). */
  readonly ctime: number;
  /** `struct dirent`: `d_reclen` (u16), `d_type` (u8), `d_name` (char[256]). */
  readonly dirent: { readonly reclen: number; readonly type: number; readonly name: number };
}

const LAYOUTS: Readonly<Record<string, Layout>> = {
  // x86-64: dev, ino, nlink (u64), mode, uid, gid (u32), pad, rdev, size, ...
  x64: {
    statBytes: 144,
    ino: 8,
    nlink: { offset: 16, bytes: 8 },
    mode: 24,
    uid: 28,
    size: 48,
    ctime: 104,
    dirent: { reclen: 16, type: 18, name: 19 },
  },
  // arm64 (asm-generic): dev, ino (u64), mode, nlink, uid, gid (u32), rdev, pad, size, ...
  arm64: {
    statBytes: 128,
    ino: 8,
    nlink: { offset: 20, bytes: 4 },
    mode: 16,
    uid: 24,
    size: 48,
    ctime: 104,
    dirent: { reclen: 16, type: 18, name: 19 },
  },
};

/** `d_type` values (Linux). */
export const DT_UNKNOWN = 0;
export const DT_REG = 8;
/** `S_IFMT` and `S_IFREG` of `st_mode`. */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** The status fields shmem uses. */
export interface FileStatus {
  readonly ino: bigint;
  /** Names referring to it: 0 once it was unlinked. */
  readonly nlink: number;
  readonly mode: number;
  readonly uid: number;
  readonly size: number;
  /** Last status change, in ms since 1970. */
  readonly ctimeMs: number;
  readonly isFile: boolean;
}

/** One directory entry: its name and `d_type`. */
export interface DirEntry {
  readonly name: string;
  readonly type: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let cached: { layout: Layout; stat: Uint8Array; path: Uint8Array } | undefined;

function layout(): Layout {
  return scratch().layout;
}

/** The layout and reusable buffers (one stat buffer, one path buffer: calls are synchronous). */
function scratch(): { layout: Layout; stat: Uint8Array; path: Uint8Array } {
  if (cached) return cached;
  const l = LAYOUTS[ffi.arch];
  if (!l) throw new Error(`shmem does not know struct stat on '${ffi.arch}'`);
  return cached = { layout: l, stat: new Uint8Array(l.statBytes), path: new Uint8Array(4097) };
}

/** `path` as a NUL-terminated C string in the reusable buffer (or a fresh one when long). */
function cPath(path: string): Uint8Array {
  const buf = scratch().path;
  const { read, written } = encoder.encodeInto(path, buf.subarray(0, buf.length - 1));
  if (read !== path.length) return encoder.encode(`${path}\0`);
  buf[written] = 0;
  return buf;
}

/** Decodes a `struct stat` buffer. */
export function decodeStatus(buf: Uint8Array): FileStatus {
  const l = layout();
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const mode = v.getUint32(l.mode, true);
  return {
    ino: v.getBigUint64(l.ino, true),
    nlink: l.nlink.bytes === 8 ? Number(v.getBigUint64(l.nlink.offset, true)) : v.getUint32(l.nlink.offset, true),
    mode,
    uid: v.getUint32(l.uid, true),
    size: Number(v.getBigInt64(l.size, true)),
    ctimeMs: Number(v.getBigInt64(l.ctime, true)) * 1000 + Math.floor(Number(v.getBigInt64(l.ctime + 8, true)) / 1e6),
    isFile: (mode & S_IFMT) === S_IFREG,
  };
}

/** `fstat(fd)`; `undefined` when libc lacks `fstat`. */
export function statDescriptor(c: Libc, fd: number, name?: string): FileStatus | undefined {
  const fstat = c.lib.symbols.fstat;
  if (!fstat) return undefined;
  const buf = scratch().stat;
  if (fstat(fd, buf) !== 0) throw errnoError(c.c.os, "fstat", c.errno(), name);
  return decodeStatus(buf);
}

/** Whether {@link statPath} works here (glibc < 2.33 exports no `lstat`). */
export function canStatPaths(c: Libc): boolean {
  return c.lib.symbols.lstat !== undefined;
}

/** `lstat(path)`; `undefined` when the path does not exist (or cannot be read). */
export function statPath(c: Libc, path: string): FileStatus | undefined {
  const lstat = c.lib.symbols.lstat;
  if (!lstat) throw new Error("lstat is missing from libc (glibc 2.33 or newer is needed to list segments)");
  const buf = scratch().stat;
  if (lstat(cPath(path), buf) !== 0) return undefined;
  return decodeStatus(buf);
}

/** The entries of directory `path` (without `.` and `..`). */
export function readDirectory(c: Libc, path: string): DirEntry[] {
  const { opendir, readdir, closedir } = c.lib.symbols;
  if (!opendir || !readdir || !closedir) throw new Error("opendir/readdir are missing from libc");
  const dir = opendir(encoder.encode(`${path}\0`)) as bigint;
  if (dir === 0n) throw errnoError(c.c.os, "opendir", c.errno(), path);
  const d = layout().dirent;
  const out: DirEntry[] = [];
  try {
    for (;;) {
      const entry = readdir(dir) as bigint;
      if (entry === 0n) break;
      const head = ffi.view(entry, d.name);
      const reclen = new DataView(head).getUint16(d.reclen, true);
      const type = new Uint8Array(head)[d.type];
      head.transfer(0);
      const buffer = ffi.view(entry, reclen);
      const bytes = new Uint8Array(buffer, d.name).slice();
      buffer.transfer(0);
      const end = bytes.indexOf(0);
      const name = decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
      if (name !== "." && name !== "..") out.push({ name, type });
    }
  } finally {
    closedir(dir);
  }
  return out;
}

/** The whole text of a small file such as /proc/sysvipc/shm, read through libc. */
export function readText(c: Libc, path: string): string {
  const { open, read } = c.lib.symbols;
  if (!open || !read) throw new Error("open/read are missing from libc");
  const fd = open(cPath(path), c.c.O_RDONLY | c.c.O_NONBLOCK, 0) as number; // never blocks on a FIFO
  if (fd < 0) throw errnoError(c.c.os, "open", c.errno(), path);
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const chunk = new Uint8Array(65536);
      const n = Number(read(fd, chunk, chunk.length));
      if (n < 0) {
        const errno = c.errno();
        if (errno === 4 /* EINTR */) continue;
        throw errnoError(c.c.os, "read", errno, path);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
    }
  } finally {
    c.lib.symbols.close(fd);
  }
  const all = new Uint8Array(chunks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of chunks) {
    all.set(b, at);
    at += b.length;
  }
  return decoder.decode(all);
}
