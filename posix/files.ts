/**
 * Reading a directory and a small file through libc, not `node:fs`: Deno
 * asks for `--allow-all` before `node:fs` may touch /dev/shm (denoland/deno
 * issue 30979), while shmem already runs with `--allow-ffi`. A file's status
 * is read by stat.ts.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import { errnoNumbers } from "./errno.ts";
import { cString, fromCString } from "./cstring.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";

/** `struct dirent` of 64-bit Linux (x86-64 and arm64 alike): `d_reclen` (u16), `d_type` (u8), `d_name` (char[256]). */
const DIRENT = { reclen: 16, type: 18, name: 19 } as const;

/** `d_type` values (Linux). */
export const DT_UNKNOWN = 0;
export const DT_REG = 8;

/** One directory entry: its name and `d_type`. */
export interface DirEntry {
  readonly name: string;
  readonly type: number;
}

/** The entries of directory `path` (without `.` and `..`). */
export function readDirectory(c: Libc, path: string): DirEntry[] {
  const { opendir, readdir, closedir } = c.lib.symbols;
  if (!opendir || !readdir || !closedir) throw new Error("opendir/readdir are missing from libc");
  const dir = opendir(cString(path));
  if (dir === 0n) throw errnoError(c.c.os, "opendir", c.errno(), path);
  const d = DIRENT;
  const out: DirEntry[] = [];
  try {
    for (;;) {
      const entry = readdir(dir);
      if (entry === 0n) break;
      const head = ffi.view(entry, d.name);
      const reclen = new DataView(head).getUint16(d.reclen, true);
      const type = new Uint8Array(head)[d.type];
      head.transfer(0);
      const buffer = ffi.view(entry, reclen);
      const bytes = new Uint8Array(buffer, d.name).slice();
      buffer.transfer(0);
      const name = fromCString(bytes);
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
  const fd = open(cString(path), c.c.O_RDONLY | c.c.O_NONBLOCK, 0); // never blocks on a FIFO
  if (fd < 0) throw errnoError(c.c.os, "open", c.errno(), path);
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const chunk = new Uint8Array(65536);
      const n = Number(read(fd, chunk, chunk.length));
      if (n < 0) {
        const errno = c.errno();
        if (errno === errnoNumbers(c.c.os).EINTR) continue;
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
  return new TextDecoder().decode(all);
}
