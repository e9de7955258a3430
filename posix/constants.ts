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
  /** How an open object's size is read: `lseek` to the end, or `fstat`'s st_size at this byte offset. */
  readonly sizeBy: { readonly call: "lseek"; readonly whence: number } | {
    readonly call: "fstat";
    /** The exported `fstat` with 64-bit inodes, per architecture. */
    readonly symbol: Readonly<Record<string, string>>;
    readonly statBytes: number;
    readonly sizeOffset: number;
  };
  /** Whether `ftruncate` may be called again on a sized object (Darwin: once per lifetime). */
  readonly resizable: boolean;
  /** Libraries that may hold shm_open and friends, in the order tried. */
  readonly libraries: readonly string[];
  /** The exported name of the function returning the thread's `errno` address. */
  readonly errnoLocation: string;
  /** Largest segment size accepted, in bytes (a user address space is 2^47 on x86-64 and arm64). */
  readonly maxSize: number;
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
  resizable: true,
  // glibc >= 2.34 and musl keep shm_open in libc; older glibc in librt.
  libraries: ["libc.so.6", "librt.so.1", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"],
  errnoLocation: "__errno_location",
  maxSize: 2 ** 47,
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
  // POSIX shm descriptors cannot seek on Darwin; struct stat (64-bit inodes) has st_size at 96.
  sizeBy: {
    call: "fstat",
    symbol: { arm64: "fstat", x64: "fstat$INODE64" },
    statBytes: 144,
    sizeOffset: 96,
  },
  resizable: false,
  libraries: ["/usr/lib/libSystem.B.dylib"],
  errnoLocation: "__error",
  maxSize: 2 ** 47,
};

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
