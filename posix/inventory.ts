/**
 * Listing the named POSIX segments of Linux (the files of /dev/shm) and
 * removing the orphans shmem made.
 *
 * Only regular files count: directories, symlinks and glibc's named
 * semaphores (`sem.<name>`, which are POSIX semaphores, not segments) are
 * left out. Whether a segment is held and whether shmem made it is read from
 * the object itself through a descriptor (see holders.ts), never from pid
 * files.
 *
 * @module
 */
import { libc } from "./libc.ts";
import type { Libc } from "./libc.ts";
import { shmName } from "./cstring.ts";
import { errnoError } from "./fail.ts";
import { descriptorInode, holderConstants, isHeld, nameInode, readMark, tryExclusive } from "./holders.ts";
import type { HolderConstants } from "./holders.ts";
import { DT_REG, DT_UNKNOWN, readDirectory } from "./files.ts";
import { statPath } from "./stat.ts";
import type { FileStatus } from "./stat.ts";
import type { CollectRequest, SegmentInfo } from "../platform/contracts.ts";

/** Whether a directory entry of /dev/shm is a shared-memory segment. */
export function isSegmentName(name: string): boolean {
  // glibc keeps sem_open's named semaphores in /dev/shm as "sem.<name>".
  return !name.startsWith("sem.");
}

function statOf(l: Libc, h: HolderConstants, name: string): FileStatus | undefined {
  return statPath(l, `${h.dir}/${name}`);
}

/** The names in the directory that may be segments: regular files (or unknown types), no semaphores. */
function candidates(l: Libc, h: HolderConstants): string[] {
  return readDirectory(l, h.dir)
    .filter((e) => (e.type === DT_REG || e.type === DT_UNKNOWN) && isSegmentName(e.name))
    .map((e) => e.name);
}

/** Opens the object `name` only if it is still the file `ino`; -1 otherwise. */
function openSame(l: Libc, name: string, oflag: number, ino: bigint): number {
  // O_NONBLOCK: a FIFO swapped in under the name never blocks the open.
  const fd = l.lib.symbols.shm_open(shmName(name), oflag | l.c.O_NONBLOCK, 0);
  if (fd < 0) return -1;
  try {
    if (descriptorInode(l, fd, name) === ino) return fd;
  } catch {
    // Treated as not the same object.
  }
  l.lib.symbols.close(fd);
  return -1;
}

function record(l: Libc, h: HolderConstants, name: string, st: FileStatus): SegmentInfo {
  let held: boolean | undefined;
  let tracked: boolean | undefined;
  let created: Date | undefined;
  let creatorPid: number | undefined;
  const fd = openSame(l, name, l.c.O_RDONLY, st.ino);
  if (fd >= 0) {
    try {
      held = isHeld(l, h, fd, name);
      const mark = readMark(l, h, fd);
      tracked = mark === undefined ? undefined : mark !== null;
      if (mark) {
        created = new Date(mark.created);
        creatorPid = mark.pid;
      }
    } catch {
      held = undefined;
    } finally {
      l.lib.symbols.close(fd);
    }
  }
  return {
    name,
    size: st.size,
    mode: st.mode & 0o777,
    uid: st.uid,
    changed: new Date(st.ctimeMs),
    held,
    tracked,
    created,
    creatorPid,
  };
}

function constants(): { l: Libc; h: HolderConstants } {
  const l = libc();
  const h = holderConstants(l.c.os);
  if (!h) throw new Error(`Listing segments is not supported on '${l.c.os}'`);
  return { l, h };
}

/** Every named segment this user can see, sorted by name. */
export function listPosixSegments(): SegmentInfo[] {
  const { l, h } = constants();
  const out: SegmentInfo[] = [];
  for (const name of candidates(l, h)) {
    const st = statOf(l, h, name);
    if (!st || !st.isFile) continue;
    out.push(record(l, h, name, st));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One segment by its portable name; throws ENOENT when there is none. */
export function inspectPosixSegment(name: string): SegmentInfo {
  const { l, h } = constants();
  const st = isSegmentName(name) ? statOf(l, h, name) : undefined;
  if (!st || !st.isFile) throw errnoError(l.c.os, "stat", h.ENOENT, name);
  return record(l, h, name, st);
}

/**
 * Removes the orphans: segments shmem created with tracking that no process
 * holds and that are older than the grace period. For each: open it, take
 * the exclusive lock (fails while anyone holds it; keeps new holders out
 * meanwhile), check that the name still refers to the object locked, then
 * unlink. Two collectors therefore never remove the same object twice, and
 * never a new object that reused the name.
 */
export function collectPosixSegments(request: CollectRequest): SegmentInfo[] {
  const { l, h } = constants();
  const removed: SegmentInfo[] = [];
  const now = Date.now();
  for (const name of candidates(l, h)) {
    if (!name.startsWith(request.prefix)) continue;
    const st = statOf(l, h, name);
    if (!st || !st.isFile) continue;
    const fd = openSame(l, name, l.c.O_RDWR, st.ino);
    if (fd < 0) continue; // gone, replaced, or not ours to write
    try {
      const mark = readMark(l, h, fd);
      if (!mark) continue; // not made by shmem with tracking
      if (now - mark.created < request.graceMs) continue; // its creator may still be starting
      if (!tryExclusive(l, h, fd, name)) continue; // held by a live process
      if (nameInode(l, h, name) !== st.ino) continue; // removed or replaced meanwhile
      const info = record(l, h, name, st);
      if (!request.dryRun) {
        // ENOENT: someone else removed it; EPERM/EACCES: another user's (sticky /dev/shm).
        if (l.lib.symbols.shm_unlink(shmName(name)) !== 0) continue;
      }
      removed.push({ ...info, held: false });
    } finally {
      l.lib.symbols.close(fd); // releases the exclusive lock
    }
  }
  return removed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
