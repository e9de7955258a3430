/**
 * The libc functions the POSIX backends call, as data, and their loader.
 *
 * Each entry quotes its C prototype. `shm_open` is variadic; it is declared
 * with a fixed `mode` argument, which x86-64 Linux passes in a register like a
 * fixed one. On Apple arm64 variadic arguments go on the stack, so the mode
 * may arrive as garbage there: creation always follows with `fchmod`.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { Library, SymbolTable } from "../ffi/mod.ts";
import { posixConstants } from "./constants.ts";
import type { PosixConstants } from "./constants.ts";

/** The libc symbol table for one OS and architecture. */
export function libcSymbols(c: PosixConstants, arch: string) {
  return {
    // int shm_open(const char *name, int oflag, mode_t mode);
    shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
    // int shm_unlink(const char *name);
    shm_unlink: { parameters: ["buffer"], result: "i32" },
    // int ftruncate(int fd, off_t length);
    ftruncate: { parameters: ["i32", "i64"], result: "i32" },
    // int posix_fallocate(int fd, off_t offset, off_t len); returns the error, not -1
    posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32", optional: true },
    // int fchmod(int fd, mode_t mode);
    fchmod: { parameters: ["i32", "u32"], result: "i32" },
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
    // int munmap(void *addr, size_t length);
    munmap: { parameters: ["pointer", "usize"], result: "i32" },
    // int close(int fd);
    close: { parameters: ["i32"], result: "i32" },
    // off_t lseek(int fd, off_t offset, int whence);
    lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
    // int fstat(int fd, struct stat *buf);  (Darwin x64 exports the 64-bit-inode one as fstat$INODE64)
    fstat: {
      parameters: ["i32", "buffer"],
      result: "i32",
      optional: true,
      name: c.sizeBy.call === "fstat" ? (c.sizeBy.symbol[arch] ?? "fstat") : "fstat",
    },
    // int *__errno_location(void);  (Darwin: int *__error(void))
    errno_location: { parameters: [], result: "pointer", name: c.errnoLocation },
    // int open(const char *path, int flags, mode_t mode);  variadic mode: creation follows with fchmod
    open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
    // int unlink(const char *path);
    unlink: { parameters: ["buffer"], result: "i32" },
    // int msync(void *addr, size_t length, int flags);
    msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    // int getpagesize(void);
    getpagesize: { parameters: [], result: "i32" },
    // pid_t getpid(void);
    getpid: { parameters: [], result: "i32" },
    // void *memcpy(void *dest, const void *src, size_t n);
    memcpy: { parameters: ["pointer", "pointer", "usize"], result: "pointer" },
    // int shmget(key_t key, size_t size, int shmflg);
    shmget: { parameters: ["i32", "usize", "i32"], result: "i32", optional: true },
    // void *shmat(int shmid, const void *shmaddr, int shmflg);
    shmat: { parameters: ["i32", "pointer", "i32"], result: "pointer", optional: true },
    // int shmdt(const void *shmaddr);
    shmdt: { parameters: ["pointer"], result: "i32", optional: true },
    // int shmctl(int shmid, int cmd, struct shmid_ds *buf);
    shmctl: { parameters: ["i32", "i32", "buffer"], result: "i32", optional: true },
    // int memfd_create(const char *name, unsigned int flags);  (Linux, glibc >= 2.27)
    memfd_create: { parameters: ["buffer", "u32"], result: "i32", optional: true },
    // int fcntl(int fd, int cmd, int arg);  variadic; the int argument of F_ADD_SEALS goes in a register on Linux
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    // int fcntl(int fd, int cmd, ... /* struct flock *lock */);  the same variadic fcntl, with a pointer third argument
    fcntl_lock: { parameters: ["i32", "i32", "buffer"], result: "i32", name: "fcntl" },
    // int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);  (Linux; Darwin has two more arguments)
    fsetxattr: { parameters: ["i32", "buffer", "buffer", "usize", "i32"], result: "i32", optional: true },
    // ssize_t fgetxattr(int fd, const char *name, void *value, size_t size);  (Linux; Darwin has two more arguments)
    fgetxattr: { parameters: ["i32", "buffer", "buffer", "usize"], result: "i64", optional: true },
    // int lstat(const char *path, struct stat *buf);  (glibc >= 2.33 exports it; older ones only __lxstat)
    lstat: { parameters: ["buffer", "buffer"], result: "i32", optional: true },
    // DIR *opendir(const char *name);
    opendir: { parameters: ["buffer"], result: "pointer", optional: true },
    // struct dirent *readdir(DIR *dirp);  (64-bit inodes and offsets on 64-bit Linux)
    readdir: { parameters: ["pointer"], result: "pointer", optional: true },
    // int closedir(DIR *dirp);
    closedir: { parameters: ["pointer"], result: "i32", optional: true },
    // ssize_t read(int fd, void *buf, size_t count);
    read: { parameters: ["i32", "buffer", "usize"], result: "i64", optional: true },
    // int sched_getcpu(void);  (glibc and musl; not on Darwin)
    sched_getcpu: { parameters: [], result: "i32", optional: true },
    // int sched_yield(void);
    sched_yield: { parameters: [], result: "i32", optional: true },
  } as const satisfies SymbolTable;
}

/** The loaded libc of this process, with its constants. */
export interface Libc {
  readonly c: PosixConstants;
  readonly lib: Library<ReturnType<typeof libcSymbols>>;
  /** The calling thread's current errno. */
  errno(): number;
}

let loaded: Libc | undefined;

/** Loads libc once; throws when this OS has no POSIX shared memory support. */
export function libc(): Libc {
  if (loaded) return loaded;
  const c = posixConstants(ffi.os);
  if (!c) throw new Error(`POSIX shared memory is not supported on '${ffi.os}'`);
  const lib = ffi.open(c.libraries, libcSymbols(c, ffi.arch));
  const location = lib.symbols.errno_location() as bigint;
  loaded = { c, lib, errno: () => ffi.readI32(location) };
  return loaded;
}
