/**
 * The libc functions the POSIX backends call, as data, and their loader.
 *
 * Each entry quotes its C prototype. The table is per OS and architecture:
 * a prototype that is wrong for a system is never bound there (Linux's
 * 4/5-argument xattr calls against Darwin's 6, Linux `struct dirent` and
 * `struct stat` readers, `memfd_create`), see {@link boundSymbols}.
 *
 * Variadic functions (`shm_open`, `open` with `O_CREAT`, `fcntl`): no runtime
 * FFI but koffi can declare a variadic call, so each is declared as a fixed
 * function that puts the variadic argument where the callee's `va_arg` reads
 * it ({@link variadicPadding}):
 * - x86-64 (Linux and Darwin) and Linux arm64: variadic integer and pointer
 *   arguments travel in the same registers as fixed ones, so the plain
 *   three-argument form is right.
 * - Apple arm64: variadic arguments go on the stack (Apple's "Writing ARM64
 *   code for Apple platforms"), and libsyscall's wrappers read the mode from
 *   there (`ldr x2, [fp, #16]` in varargs_wrappers.s). Declaring six unused
 *   64-bit arguments after the two fixed ones fills x2–x7, so the ninth (the
 *   variadic one, 64 bits wide) is the first stack slot, `[sp]`.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { Library, NativeFunction, NativeType, SymbolDef, Symbols, SymbolTable } from "../ffi/mod.ts";
import { posixConstants } from "./constants.ts";
import type { PosixConstants } from "./constants.ts";

/** The Linux futex calls futex.ts sleeps and wakes with. */
export const LINUX_WAIT_SYMBOLS = {
  // long syscall(long number, ...);  here: futex(int *uaddr, int futex_op, int val, const struct timespec *timeout)
  futex: { name: "syscall", parameters: ["i32", "buffer", "i32", "i32", "buffer"], result: "i32" },
  // The same, on a worker thread: the word and the timespec passed as addresses.
  futex_async: {
    name: "syscall",
    parameters: ["i32", "pointer", "i32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  // long syscall(long number, ...);  here: futex_waitv(struct futex_waitv *waiters,
  //     unsigned int nr_futexes, unsigned int flags, struct timespec *timeout, clockid_t clockid)
  futex_waitv: { name: "syscall", parameters: ["i32", "pointer", "u32", "u32", "pointer", "i32"], result: "i32" },
  futex_waitv_async: {
    name: "syscall",
    parameters: ["i32", "pointer", "u32", "u32", "pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // int clock_gettime(clockid_t clockid, struct timespec *tp);
  clock_gettime: { parameters: ["i32", "pointer"], result: "i32" },
  // void *malloc(size_t size);  (memory of off-thread waits, kept for reuse)
  malloc: { parameters: ["usize"], result: "pointer" },
} as const satisfies SymbolTable;

/** The macOS calls futex.ts sleeps and wakes with; the os_sync ones exist from macOS 14.4. */
export const DARWIN_WAIT_SYMBOLS = {
  // int os_sync_wait_on_address_with_timeout(void *addr, uint64_t value, size_t size,
  //     os_sync_wait_on_address_flags_t flags, os_clockid_t clockid, uint64_t timeout_ns);
  os_wait: {
    name: "os_sync_wait_on_address_with_timeout",
    parameters: ["buffer", "u64", "usize", "u32", "u32", "u64"],
    result: "i32",
    optional: true,
  },
  os_wait_async: {
    name: "os_sync_wait_on_address_with_timeout",
    parameters: ["pointer", "u64", "usize", "u32", "u32", "u64"],
    result: "i32",
    optional: true,
    nonblocking: true,
  },
  // int os_sync_wake_by_address_any(void *addr, size_t size, os_sync_wake_by_address_flags_t flags);
  os_wake_any: {
    name: "os_sync_wake_by_address_any",
    parameters: ["buffer", "usize", "u32"],
    result: "i32",
    optional: true,
  },
  // int os_sync_wake_by_address_all(void *addr, size_t size, os_sync_wake_by_address_flags_t flags);
  os_wake_all: {
    name: "os_sync_wake_by_address_all",
    parameters: ["buffer", "usize", "u32"],
    result: "i32",
    optional: true,
  },
  // int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);  (0 = no timeout)
  ulock_wait: { name: "__ulock_wait", parameters: ["u32", "buffer", "u64", "u32"], result: "i32", optional: true },
  ulock_wait_async: {
    name: "__ulock_wait",
    parameters: ["u32", "pointer", "u64", "u32"],
    result: "i32",
    optional: true,
    nonblocking: true,
  },
  // int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
  ulock_wake: { name: "__ulock_wake", parameters: ["u32", "buffer", "u64"], result: "i32", optional: true },
} as const satisfies SymbolTable;

/** macOS libproc (in libSystem), for the process probe (process.ts). */
export const DARWIN_PROCESS_SYMBOLS = {
  // int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize);
  proc_pidinfo: { parameters: ["i32", "i32", "u64", "buffer", "i32"], result: "i32" },
} as const satisfies SymbolTable;

/**
 * How many unused 64-bit arguments sit between a variadic function's fixed
 * arguments and its first variadic one, so that it lands where `va_arg`
 * looks: 6 on Apple arm64 (x2–x7 filled, the variadic on the stack), else 0.
 */
export function variadicPadding(os: string, arch: string): number {
  return os === "darwin" && arch === "arm64" ? 6 : 0;
}

/** `fixed` parameters, `padding` unused i64s, then the variadic parameter. */
function variadic(fixed: readonly NativeType[], padding: number, last: NativeType): NativeType[] {
  return [...fixed, ...Array.from({ length: padding }, (): NativeType => "i64"), last];
}

/** The full libc symbol table for one OS and architecture (before {@link boundSymbols} drops the foreign ones). */
export function libcSymbols(c: PosixConstants, arch: string) {
  const pad = variadicPadding(c.os, arch);
  // The 64-bit variadic slot: a mode_t (u32 promoted) or an int read as 64 bits on the stack.
  const slot: NativeType = pad > 0 ? "i64" : "u32";
  return {
    // int shm_open(const char *name, int oflag, ... /* mode_t mode */);
    shm_open: { parameters: variadic(["buffer", "i32"], pad, slot), result: "i32" },
    // int shm_unlink(const char *name);
    shm_unlink: { parameters: ["buffer"], result: "i32" },
    // int ftruncate(int fd, off_t length);
    ftruncate: { parameters: ["i32", "i64"], result: "i32" },
    // int posix_fallocate(int fd, off_t offset, off_t len); returns the error, not -1  (Linux)
    posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32", optional: true },
    // int fchmod(int fd, mode_t mode);  (Darwin refuses it on a shm descriptor: EINVAL; used for files there)
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
    // int open(const char *path, int flags, ... /* mode_t mode */);
    open: { parameters: variadic(["buffer", "i32"], pad, slot), result: "i32" },
    // int unlink(const char *path);
    unlink: { parameters: ["buffer"], result: "i32" },
    // int msync(void *addr, size_t length, int flags);
    msync: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    // int getpagesize(void);
    getpagesize: { parameters: [], result: "i32" },
    // pid_t getpid(void);
    getpid: { parameters: [], result: "i32" },
    // int kill(pid_t pid, int sig);
    kill: { parameters: ["i32", "i32"], result: "i32" },
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
    // int fcntl(int fd, int cmd, ... /* int arg */);
    fcntl: { parameters: variadic(["i32", "i32"], pad, pad > 0 ? "i64" : "i32"), result: "i32" },
    // int fcntl(int fd, int cmd, ... /* struct flock *lock */);  the same variadic fcntl, with a pointer third argument
    fcntl_lock: { parameters: variadic(["i32", "i32"], pad, "buffer"), result: "i32", name: "fcntl" },
    // int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);  (Linux; Darwin has 6 arguments)
    fsetxattr: { parameters: ["i32", "buffer", "buffer", "usize", "i32"], result: "i32", optional: true },
    // ssize_t fgetxattr(int fd, const char *name, void *value, size_t size);  (Linux; Darwin has 6 arguments)
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
    // pid_t gettid(void);  (Linux, glibc >= 2.30)
    gettid: { parameters: [], result: "i32", optional: true },
    // int tgkill(pid_t tgid, pid_t tid, int sig);  (Linux, glibc >= 2.30)
    tgkill: { parameters: ["i32", "i32", "i32"], result: "i32", optional: true },
    ...LINUX_WAIT_SYMBOLS,
    ...DARWIN_WAIT_SYMBOLS,
    ...DARWIN_PROCESS_SYMBOLS,
  } as const satisfies SymbolTable;
}

/** The whole libc table's type: what library code may call (OS-specific entries are optional). */
export type LibcSymbols = ReturnType<typeof libcSymbols>;

/**
 * Entries of {@link libcSymbols} whose prototype or the structure they fill
 * is Linux's: never bound elsewhere. Darwin's xattr calls take 6 arguments,
 * its `lstat`/`readdir` fill a 144-byte `stat64` and a different `dirent`
 * (and need `$INODE64` names on x86-64), and it has no `memfd_create`,
 * `posix_fallocate` or `sched_getcpu`. The code that would use them (holder
 * locks and marks, /dev/shm listing, memfd) only runs on Linux.
 */
export const LINUX_ONLY: ReadonlySet<string> = new Set([
  "posix_fallocate",
  "memfd_create",
  "fsetxattr",
  "fgetxattr",
  "lstat",
  "opendir",
  "readdir",
  "closedir",
  "sched_getcpu",
  "gettid",
  "tgkill",
  ...Object.keys(LINUX_WAIT_SYMBOLS),
]);

/** Entries of {@link libcSymbols} that exist on macOS only (its address waits and libproc): never bound elsewhere. */
export const DARWIN_ONLY: ReadonlySet<string> = new Set([
  ...Object.keys(DARWIN_WAIT_SYMBOLS),
  ...Object.keys(DARWIN_PROCESS_SYMBOLS),
]);

/** The entries of {@link libcSymbols} actually bound on `c.os`/`arch`. */
export function boundSymbols(c: PosixConstants, arch: string): SymbolTable {
  const all: Record<string, SymbolDef> = libcSymbols(c, arch);
  const out: Record<string, SymbolDef> = {};
  for (const [key, def] of Object.entries(all)) {
    if (c.os !== "linux" && LINUX_ONLY.has(key)) continue;
    if (c.os !== "darwin" && DARWIN_ONLY.has(key)) continue;
    out[key] = def;
  }
  return out;
}

/** The variadic entries, with the number of fixed arguments each has. */
const VARIADIC: Readonly<Record<string, number>> = { shm_open: 2, open: 2, fcntl: 2, fcntl_lock: 2 };

/**
 * Wraps each variadic entry so that callers always pass the C arguments
 * (`shm_open(name, oflag, mode)`): the padding of {@link variadicPadding} is
 * inserted between the fixed arguments and the variadic one.
 */
export function withVariadics<T extends Record<string, NativeFunction | undefined>>(
  symbols: T,
  padding: number,
): T {
  if (padding === 0) return symbols;
  const out: Record<string, NativeFunction | undefined> = { ...symbols };
  const zeros = Array.from({ length: padding }, () => 0);
  for (const [key, fixed] of Object.entries(VARIADIC)) {
    const raw = symbols[key];
    if (!raw) continue;
    out[key] = (...args: unknown[]) => raw(...args.slice(0, fixed), ...zeros, args[fixed] ?? 0);
  }
  return out as T;
}

/** The loaded libc of this process, with its constants. */
export interface Libc {
  readonly c: PosixConstants;
  readonly lib: Library<LibcSymbols>;
  /** The calling thread's current errno. */
  errno(): number;
}

let loaded: Libc | undefined;

/** Loads libc once; throws when this OS has no POSIX shared memory support. */
export function libc(): Libc {
  if (loaded) return loaded;
  const c = posixConstants(ffi.os);
  if (!c) throw new Error(`POSIX shared memory is not supported on '${ffi.os}'`);
  const opened = ffi.open(c.libraries, boundSymbols(c, ffi.arch));
  const lib = {
    path: opened.path,
    symbols: withVariadics(opened.symbols, variadicPadding(c.os, ffi.arch)),
  } as unknown as Library<LibcSymbols>;
  const location = lib.symbols.errno_location();
  loaded = { c, lib, errno: () => ffi.readI32(location) };
  return loaded;
}

/**
 * The entries of `part` (one of the OS-specific tables above) from the loaded
 * libc, typed as that table; throws where this OS did not bind its required
 * entries (the Linux futex calls on macOS, for instance).
 */
function partOf<T extends SymbolTable>(l: Libc, part: T, what: string): Symbols<T> {
  const symbols: Readonly<Record<string, unknown>> = l.lib.symbols;
  for (const [key, def] of Object.entries(part)) {
    if (!def.optional && symbols[key] === undefined) throw new Error(`${what} (${key}) is not bound on '${l.c.os}'`);
  }
  return l.lib.symbols as unknown as Symbols<T>;
}

/** The Linux futex calls of the loaded libc. */
export function linuxWaitSymbols(l: Libc): Symbols<typeof LINUX_WAIT_SYMBOLS> {
  return partOf(l, LINUX_WAIT_SYMBOLS, "The Linux futex");
}

/** The macOS address-wait calls of the loaded libc (each optional: older macOS lacks os_sync). */
export function darwinWaitSymbols(l: Libc): Symbols<typeof DARWIN_WAIT_SYMBOLS> {
  return partOf(l, DARWIN_WAIT_SYMBOLS, "The macOS address wait");
}

/** macOS libproc's calls of the loaded libc. */
export function darwinProcessSymbols(l: Libc): Symbols<typeof DARWIN_PROCESS_SYMBOLS> {
  return partOf(l, DARWIN_PROCESS_SYMBOLS, "libproc");
}
