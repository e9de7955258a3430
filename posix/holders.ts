/**
 * Who holds a segment, with the kernel as the witness, and what shmem made.
 *
 * Every process that has a segment open through shmem keeps an
 * open-file-description lock (`fcntl(F_OFD_SETLK)`, `F_RDLCK`, shared by all
 * holders) on one byte of it, far past any data: byte 2^62. The lock belongs
 * to the descriptor the mapping keeps open, so the kernel drops it when the
 * descriptor closes, however the process ends (SIGKILL included). A collector
 * asks for `F_WRLCK` on the same byte through its own descriptor: it gets it
 * only when nobody holds the segment. Any program can join this protocol.
 *
 * A segment created with tracking also carries a `user.shmem` extended
 * attribute (`{"created":<ms since 1970>,"pid":<creator>}`), so a collector
 * never touches segments other programs made. tmpfs keeps user xattrs; where
 * they are refused the segment is simply untracked (never collected).
 *
 * macOS has OFD locks only since macOS 14 (`F_OFD_SETLK`, xnu
 * bsd/sys/fcntl.h), and even there a POSIX shm descriptor refuses every
 * `fcntl` lock (xnu posix_shm.c has no lock operation for it), and the
 * objects stay out of the file system: there, nothing is locked or marked.
 * Its `struct flock` differs from Linux's ({@link DARWIN_FLOCK}), and no
 * Linux layout or lock number is ever used there (this table has no Darwin
 * row).
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { ffi } from "../ffi/mod.ts";
import { cString, shmName } from "./cstring.ts";
import { errnoNumbers } from "./errno.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";
import { canStatPaths, statDescriptor, statPath } from "./stat.ts";

/** OFD lock numbers, `struct flock` and `struct stat` layout, as data. */
export interface HolderConstants {
  /** `fcntl` commands (Linux asm-generic/fcntl.h). */
  readonly F_OFD_GETLK: number;
  readonly F_OFD_SETLK: number;
  /** Lock types. */
  readonly F_RDLCK: number;
  readonly F_WRLCK: number;
  readonly F_UNLCK: number;
  /** `struct flock`: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid. */
  readonly flock: {
    readonly bytes: number;
    readonly type: number;
    readonly whence: number;
    readonly start: number;
    readonly len: number;
    readonly pid: number;
  };
  /** errno values `F_OFD_SETLK` fails with when another description holds a conflicting lock. */
  readonly conflict: readonly number[];
  readonly EINTR: number;
  readonly ENOENT: number;
  /** errno values meaning "extended attributes are not supported here" or "no such attribute". */
  readonly noXattr: readonly number[];
  /** errno of `fgetxattr` when the object has no such attribute. */
  readonly ENODATA: number;
  /** The directory where the named objects are visible as files. */
  readonly dir: string;
}

const E = errnoNumbers("linux");

/** Linux, the same on x86-64 and arm64 (asm-generic). */
const LINUX: HolderConstants = {
  F_OFD_GETLK: 36,
  F_OFD_SETLK: 37,
  F_RDLCK: 0,
  F_WRLCK: 1,
  F_UNLCK: 2,
  flock: { bytes: 32, type: 0, whence: 2, start: 8, len: 16, pid: 24 },
  conflict: [E.EAGAIN, E.EACCES],
  EINTR: E.EINTR,
  ENOENT: E.ENOENT,
  noXattr: [E.ENODATA, E.EOPNOTSUPP, E.ENOSYS],
  ENODATA: E.ENODATA,
  dir: "/dev/shm",
};

/**
 * Darwin's `struct flock` (xnu bsd/sys/fcntl.h: off_t l_start, off_t l_len,
 * pid_t l_pid, short l_type, short l_whence) and lock values, as data for
 * the day a Darwin object accepts locks; unused today (see the module notes).
 */
export const DARWIN_FLOCK = {
  flock: { bytes: 24, start: 0, len: 8, pid: 16, type: 20, whence: 22 },
  F_RDLCK: 1,
  F_UNLCK: 2,
  F_WRLCK: 3,
} as const;

const BY_OS: Readonly<Record<string, HolderConstants>> = { linux: LINUX };

/** The holder constants of `os`, or `undefined` where there are no OFD locks (macOS). */
export function holderConstants(os: string): HolderConstants | undefined {
  return BY_OS[os];
}

/** The byte every holder locks: far beyond any segment's data. */
export const HOLD_OFFSET = 2n ** 62n;
/** The extended attribute marking a segment shmem created with tracking. */
export const MARK_ATTRIBUTE = "user.shmem";

const encoder = new TextEncoder();
const markName = cString(MARK_ATTRIBUTE);
const pause = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

let flockBuffer: Uint8Array | undefined;
let flockView: DataView | undefined;

/** Runs one OFD lock command on the holder byte; returns 0 or the errno. */
function lock(l: Libc, h: HolderConstants, fd: number, cmd: number, type: number): { errno: number; flock: DataView } {
  const buf = flockBuffer ??= new Uint8Array(h.flock.bytes);
  const v = flockView ??= new DataView(buf.buffer);
  v.setInt16(h.flock.type, type, true);
  v.setInt16(h.flock.whence, 0, /* SEEK_SET */ true);
  v.setBigInt64(h.flock.start, HOLD_OFFSET, true);
  v.setBigInt64(h.flock.len, 1n, true);
  v.setInt32(h.flock.pid, 0, true); // must be 0 for OFD locks
  for (;;) {
    if (l.lib.symbols.fcntl_lock(fd, cmd, buf) === 0) return { errno: 0, flock: v };
    const errno = l.errno();
    if (errno !== h.EINTR) return { errno, flock: v };
  }
}

/** Takes the shared holder lock on `fd`; false when a collector holds the byte right now. */
function takeHold(l: Libc, h: HolderConstants, fd: number, name: string): boolean {
  const { errno } = lock(l, h, fd, h.F_OFD_SETLK, h.F_RDLCK);
  if (errno === 0) return true;
  if (h.conflict.includes(errno)) return false;
  throw errnoError(l.c.os, "fcntl", errno, name);
}

/**
 * Tries the exclusive lock on `fd`: true means no process holds the object,
 * and none can start holding it until `fd` is closed.
 */
export function tryExclusive(l: Libc, h: HolderConstants, fd: number, name: string): boolean {
  const { errno } = lock(l, h, fd, h.F_OFD_SETLK, h.F_WRLCK);
  if (errno === 0) return true;
  if (h.conflict.includes(errno)) return false;
  throw errnoError(l.c.os, "fcntl", errno, name);
}

/** Whether some open file description holds the object behind `fd` (F_OFD_GETLK; takes nothing). */
export function isHeld(l: Libc, h: HolderConstants, fd: number, name: string): boolean {
  const { errno, flock } = lock(l, h, fd, h.F_OFD_GETLK, h.F_WRLCK);
  if (errno !== 0) throw errnoError(l.c.os, "fcntl", errno, name);
  return flock.getInt16(h.flock.type, true) !== h.F_UNLCK;
}

/** The inode number of the object behind `fd`, or `undefined` when fstat is unavailable. */
export function descriptorInode(l: Libc, fd: number, name: string): bigint | undefined {
  return statDescriptor(l, fd, name)?.ino;
}

/** The inode number the name refers to now, or `undefined` when the name is gone. */
export function nameInode(l: Libc, h: HolderConstants, name: string): bigint | undefined {
  return statPath(l, `${h.dir}/${name}`)?.ino;
}

/** What the `user.shmem` attribute records. */
export interface Mark {
  /** When the creator made the segment, in ms since 1970. */
  readonly created: number;
  /** The creator's process id. */
  readonly pid: number;
}

/** Writes the tracking mark; returns false where extended attributes are unsupported. */
function writeMark(l: Libc, h: HolderConstants, fd: number, name: string, mark: Mark): boolean {
  const fsetxattr = l.lib.symbols.fsetxattr;
  if (!fsetxattr) return false;
  const value = encoder.encode(JSON.stringify(mark));
  if (fsetxattr(fd, markName, value, value.length, 0) === 0) return true;
  const errno = l.errno();
  if (h.noXattr.includes(errno)) return false;
  throw errnoError(l.c.os, "fsetxattr", errno, name);
}

/**
 * Reads the tracking mark of the object behind `fd`: the mark, `null` when
 * there is none, `undefined` when it cannot be known (xattrs unsupported).
 */
export function readMark(l: Libc, h: HolderConstants, fd: number): Mark | null | undefined {
  const fgetxattr = l.lib.symbols.fgetxattr;
  if (!fgetxattr) return undefined;
  const buf = new Uint8Array(256);
  const n = Number(fgetxattr(fd, markName, buf, buf.length));
  if (n < 0) {
    const errno = l.errno();
    return errno === h.ENODATA ? null : undefined;
  }
  try {
    const parsed = JSON.parse(new TextDecoder().decode(buf.subarray(0, n)));
    if (typeof parsed?.created === "number" && typeof parsed?.pid === "number") {
      return { created: parsed.created, pid: parsed.pid };
    }
  } catch {
    // Not ours after all.
  }
  return null;
}

/**
 * Marks a descriptor shmem just created as held by this process and, with
 * `track`, as made by shmem. The lock comes first: a collector only considers
 * marked segments, so it never finds one marked but not yet held.
 */
export function holdCreated(l: Libc, fd: number, name: string, track: boolean): void {
  const h = holderConstants(l.c.os);
  if (!h) return;
  if (!takeHold(l, h, fd, name)) {
    throw new ShmError({
      code: "EBUSY",
      errno: errnoNumbers(l.c.os).EBUSY,
      syscall: "fcntl",
      path: name,
      message: `Segment '${name}' is locked by a collector`,
    });
  }
  if (track) writeMark(l, h, fd, name, { created: Date.now(), pid: ffi.pid });
}

/**
 * Opens an existing segment and takes the holder lock on it. A collector may
 * hold the exclusive lock for a moment while it removes an orphan: then this
 * waits and looks the name up again, so it never holds a removed object.
 */
export function openHeld(l: Libc, name: string, oflag: number): number {
  const { c, lib } = l;
  const h = holderConstants(c.os);
  const path = shmName(name);
  for (let attempt = 0; attempt < 500; attempt++) {
    const fd = lib.symbols.shm_open(path, oflag, 0);
    if (fd < 0) throw errnoError(c.os, "shm_open", l.errno(), name);
    if (!h) return fd;
    let held: boolean;
    let same: boolean;
    try {
      held = takeHold(l, h, fd, name);
      // Once held, no collector can unlink it; if one did just before, its link count is 0.
      // Without fstat (glibc < 2.33) the check is skipped.
      const st = held ? statDescriptor(l, fd, name) : undefined;
      same = st === undefined || st.nlink > 0;
    } catch (error) {
      lib.symbols.close(fd);
      throw error;
    }
    if (held && same) return fd;
    lib.symbols.close(fd);
    if (held && canStatPaths(l) && nameInode(l, h, name) === undefined) {
      throw errnoError(c.os, "shm_open", h.ENOENT, name);
    }
    sleep(1);
  }
  throw new ShmError({
    code: "EBUSY",
    errno: errnoNumbers(c.os).EBUSY,
    syscall: "fcntl",
    path: name,
    message: `Segment '${name}' stayed locked by a collector`,
  });
}
