/**
 * POSIX constants and name rules, one record per operating system.
 *
 * Values differ between Linux and Darwin (`O_CREAT`, `O_EXCL`, errno numbers,
 * name length); the code that uses them never tests the OS itself, it reads
 * the record {@link posixConstants} selects.
 *
 * @module
 */

/** Everything OS-specific the POSIX backends need, as data. */
export interface PosixConstants {
  readonly os: "linux" | "darwin";
  readonly O_RDONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly MAP_SHARED: number;
  readonly MAP_PRIVATE: number;
  /** Longest name in bytes, counting the leading `/` (Darwin: PSHMNAMLEN 31). */
  readonly maxNameBytes: number;
  /** Whether `posix_fallocate` can reserve the object's memory up front. */
  readonly canReserve: boolean;
  /** How an open object's size is read: `lseek` to the end, or `fstat`'s st_size (see {@link PosixConstants.stat}). */
  readonly sizeBy: { readonly call: "lseek"; readonly whence: number } | {
    readonly call: "fstat";
    /** The exported `fstat` with 64-bit inodes, per architecture. */
    readonly symbol: Readonly<Record<string, string>>;
  };
  /**
   * How a new shm object gets its exact mode: `fchmod` after `shm_open` (Linux,
   * where the umask applies), or `shm_open`'s own mode argument checked with
   * `fstat` (Darwin, where `fchmod` on a shm descriptor is EINVAL and no
   * umask applies).
   */
  readonly shmMode: "fchmod" | "shm_open";
  /**
   * How read-only and private opens of a shm object avoid views of
   * read-only pages: `MAP_PRIVATE` with write permission (Linux), or a copy
   * into private anonymous memory with `refresh()` (Darwin, whose shm mmap
   * accepts only `MAP_SHARED`).
   */
  readonly shmCopyOnWrite: "private" | "copy";
  /** Whether `ftruncate` may be called again on a sized object (Darwin: once per lifetime). */
  readonly resizable: boolean;
  /** Libraries that may hold shm_open and friends, in the order tried. */
  readonly libraries: readonly string[];
  /** The exported name of the function returning the thread's `errno` address. */
  readonly errnoLocation: string;
  /** Largest segment size accepted, in bytes (a user address space is 2^47 on x86-64 and arm64). */
  readonly maxSize: number;
  /** `open(2)` flag: close on exec (Linux 0o2000000, Darwin 0x1000000). */
  readonly O_CLOEXEC: number;
  /** `open(2)` flag: do not block opening a FIFO or device (Linux 0o4000, Darwin 0x4). */
  readonly O_NONBLOCK: number;
  /** `mmap(2)` flag: memory backed by no file (Linux 0x20, Darwin 0x1000). */
  readonly MAP_ANONYMOUS: number;
  /** `mmap(2)` flag: fault every page in at once (Linux 0x8000; Darwin has none: 0). */
  readonly MAP_POPULATE: number;
  /** `msync(2)` flag: write back and wait (Linux 4, Darwin 0x10). */
  readonly MS_SYNC: number;
  /** `struct stat` layout per architecture: the one description every `fstat`/`lstat` reader uses. */
  readonly stat: Readonly<Record<string, StatLayout>>;
  /** The file-type bits of `st_mode` and the regular-file and directory types. */
  readonly S_IFMT: number;
  readonly S_IFREG: number;
  readonly S_IFDIR: number;
  /** System V shared memory constants and `struct shmid_ds` layout. */
  readonly sysv: SysvConstants;
  /** `memfd_create` and file sealing (Linux only; `undefined` elsewhere). */
  readonly memfd: MemfdConstants | undefined;
  /** How a thread sleeps on a shared word: the Linux futex, or macOS `os_sync_wait_on_address`/`__ulock_wait`. */
  readonly waiting: "futex" | "ulock";
  /** How another process is probed: `/proc/<pid>/stat` (Linux) or `proc_pidinfo` (macOS). */
  readonly probe: "procfs" | "libproc";
  /** Why named segments cannot be listed or collected here; `undefined` where they can (Linux's /dev/shm). */
  readonly noListing: string | undefined;
}

/** Where `fstat` puts the fields shmem reads, for one architecture. */
export interface StatLayout {
  /** `sizeof(struct stat)`. */
  readonly bytes: number;
  /** Offset of `st_mode` and its width in bytes (2 on Darwin, 4 on Linux). */
  readonly modeOffset: number;
  readonly modeBytes: 2 | 4;
  /** Offset of `st_size` (a 64-bit `off_t`). */
  readonly sizeOffset: number;
  /** Offset of `st_ino` (a 64-bit `ino_t`). */
  readonly inoOffset: number;
  /** Offset of `st_nlink` and its width (8 bytes on Linux x86-64, 4 on Linux arm64, 2 on Darwin). */
  readonly nlinkOffset: number;
  readonly nlinkBytes: 2 | 4 | 8;
  /** Offset of `st_uid` (u32). */
  readonly uidOffset: number;
  /** Offset of the status-change time: `tv_sec` (i64) then `tv_nsec` (i64). */
  readonly ctimeOffset: number;
}

/** System V shared memory, as data. */
export interface SysvConstants {
  readonly IPC_PRIVATE: number;
  readonly IPC_CREAT: number;
  readonly IPC_EXCL: number;
  readonly IPC_RMID: number;
  readonly IPC_STAT: number;
  readonly SHM_RDONLY: number;
  /** `sizeof(struct shmid_ds)` as `shmctl(IPC_STAT)` fills it. */
  readonly dsBytes: number;
  /** Offsets in `struct shmid_ds`: `shm_perm.__key` (i32), `shm_perm.uid` (u32), `shm_perm.mode` (u16 read), `shm_segsz` (size_t), `shm_nattch`. */
  readonly keyOffset: number;
  readonly uidOffset: number;
  readonly modeOffset: number;
  readonly segszOffset: number;
  readonly nattchOffset: number;
  readonly nattchBytes: 2 | 8;
}

/** `memfd_create` flags and `fcntl` sealing commands (Linux). */
export interface MemfdConstants {
  /** `O_PATH`: a descriptor that names a file without opening it (a stale handle is checked through one). */
  readonly O_PATH: number;
  readonly MFD_CLOEXEC: number;
  readonly MFD_ALLOW_SEALING: number;
  readonly F_ADD_SEALS: number;
  readonly F_GET_SEALS: number;
  readonly F_SEAL_SEAL: number;
  readonly F_SEAL_SHRINK: number;
  readonly F_SEAL_GROW: number;
}

const LINUX: PosixConstants = {
  os: "linux",
  O_RDONLY: 0,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  // NAME_MAX (255) bytes after the slash.
  maxNameBytes: 256,
  canReserve: true,
  sizeBy: { call: "lseek", whence: 2 /* SEEK_END */ },
  shmMode: "fchmod",
  shmCopyOnWrite: "private",
  resizable: true,
  // glibc >= 2.34 and musl keep shm_open in libc; older glibc in librt.
  libraries: ["libc.so.6", "librt.so.1", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
  errnoLocation: "__errno_location",
  maxSize: 2 ** 47,
  O_CLOEXEC: 0o2000000,
  O_NONBLOCK: 0o4000,
  MAP_ANONYMOUS: 0x20,
  MAP_POPULATE: 0x8000,
  MS_SYNC: 4,
  // glibc's struct stat. x86-64: dev, ino, nlink (u64), mode, uid, gid (u32), pad, rdev, size, ...;
  // arm64 (asm-generic): dev, ino (u64), mode, nlink, uid, gid (u32), rdev, pad, size, ...
  stat: {
    x64: {
      bytes: 144,
      modeOffset: 24,
      modeBytes: 4,
      sizeOffset: 48,
      inoOffset: 8,
      nlinkOffset: 16,
      nlinkBytes: 8,
      uidOffset: 28,
      ctimeOffset: 104,
    },
    arm64: {
      bytes: 128,
      modeOffset: 16,
      modeBytes: 4,
      sizeOffset: 48,
      inoOffset: 8,
      nlinkOffset: 20,
      nlinkBytes: 4,
      uidOffset: 24,
      ctimeOffset: 104,
    },
  },
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o040000,
  // <sys/ipc.h>, <sys/shm.h>; struct shmid_ds of glibc on 64-bit (112 bytes), checked with offsetof.
  sysv: {
    IPC_PRIVATE: 0,
    IPC_CREAT: 0o1000,
    IPC_EXCL: 0o2000,
    IPC_RMID: 0,
    IPC_STAT: 2,
    SHM_RDONLY: 0o10000,
    dsBytes: 112,
    keyOffset: 0,
    uidOffset: 4,
    modeOffset: 20,
    segszOffset: 48,
    nattchOffset: 88,
    nattchBytes: 8,
  },
  // <linux/memfd.h>, <linux/fcntl.h>
  memfd: {
    O_PATH: 0o10000000,
    MFD_CLOEXEC: 1,
    MFD_ALLOW_SEALING: 2,
    F_ADD_SEALS: 1033,
    F_GET_SEALS: 1034,
    F_SEAL_SEAL: 1,
    F_SEAL_SHRINK: 2,
    F_SEAL_GROW: 4,
  },
  waiting: "futex",
  probe: "procfs",
  noListing: undefined,
};

const DARWIN_STAT: StatLayout = {
  bytes: 144,
  modeOffset: 4,
  modeBytes: 2,
  sizeOffset: 96,
  inoOffset: 8,
  nlinkOffset: 6,
  nlinkBytes: 2,
  uidOffset: 16,
  ctimeOffset: 64,
};

const DARWIN: PosixConstants = {
  os: "darwin",
  O_RDONLY: 0,
  O_RDWR: 2,
  O_CREAT: 0x200,
  O_EXCL: 0x800,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  maxNameBytes: 31,
  // Darwin has no posix_fallocate, and its shm objects are not on a tmpfs that can fill.
  canReserve: false,
  // POSIX shm descriptors cannot seek on Darwin: the size is fstat's st_size.
  sizeBy: {
    call: "fstat",
    symbol: { arm64: "fstat", x64: "fstat$INODE64" },
  },
  // xnu posix_shm.c: pshm_truncate rounds the size up to the page (16 KiB on Apple
  // Silicon, 4 KiB on Intel), so an opener's fstat size is the rounded one.
  shmMode: "shm_open",
  shmCopyOnWrite: "copy",
  resizable: false,
  libraries: ["/usr/lib/libSystem.B.dylib"],
  errnoLocation: "__error",
  maxSize: 2 ** 47,
  O_CLOEXEC: 0x1000000,
  O_NONBLOCK: 0x4,
  MAP_ANONYMOUS: 0x1000,
  MAP_POPULATE: 0,
  MS_SYNC: 0x10,
  // struct stat with 64-bit inodes (xnu bsd/sys/stat.h): dev (i32), mode (u16) at 4, nlink (u16) at 6,
  // ino at 8, uid at 16, gid, rdev, then atime 32, mtime 48, ctime 64, birthtime 80 (timespecs), size at 96.
  stat: {
    x64: DARWIN_STAT,
    arm64: DARWIN_STAT,
  },
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o040000,
  // <sys/ipc.h>, <sys/shm.h>: struct __shmid_ds_new under #pragma pack(4), from the headers (not run here):
  // ipc_perm { uid 0, gid 4, cuid 8, cgid 12, mode u16 16, _seq 18, _key 20 }, shm_segsz 24,
  // shm_lpid 32, shm_cpid 36, shm_nattch u16 40, shm_atime 44, shm_dtime 52, shm_ctime 60, internal 68.
  sysv: {
    IPC_PRIVATE: 0,
    IPC_CREAT: 0o1000,
    IPC_EXCL: 0o2000,
    IPC_RMID: 0,
    IPC_STAT: 2,
    SHM_RDONLY: 0o10000,
    dsBytes: 76,
    keyOffset: 20,
    uidOffset: 0,
    modeOffset: 16,
    segszOffset: 24,
    nattchOffset: 40,
    nattchBytes: 2,
  },
  memfd: undefined,
  waiting: "ulock",
  probe: "libproc",
  noListing:
    "macOS keeps POSIX shared-memory objects out of the file system and offers no call that lists them, so shmem cannot list or collect them there; use { unlinkOnExit: true } and unlink() instead",
};

/** `mmap`'s and `shmat`'s failure value, `(void *)-1`, as an unsigned 64-bit address. */
export const MAP_FAILED: bigint = (1n << 64n) - 1n;

/** Whether an address `mmap` or `shmat` returned is a failure (`MAP_FAILED`, or NULL, which no mapping gets). */
export function mapFailed(address: bigint): boolean {
  return address === MAP_FAILED || address === 0n;
}

const BY_OS: Readonly<Record<string, PosixConstants>> = {
  linux: LINUX,
  darwin: DARWIN,
};

/**
 * The constants of `os` (`process.platform` spelling), or `undefined` when
 * POSIX shared memory is not supported there.
 */
export function posixConstants(os: string): PosixConstants | undefined {
  return BY_OS[os];
}
