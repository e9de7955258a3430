/**
 * Sleeping on a word of shared memory across processes: the Linux shared
 * futex, and on macOS `os_sync_wait_on_address` (14.4+) or `__ulock_wait`.
 *
 * Linux calls `syscall(SYS_futex, addr, FUTEX_WAIT | FUTEX_WAKE, val,
 * timeout)` — the shared ops, not the `_PRIVATE` ones, so that processes
 * mapping the same object meet on the same kernel key. It is declared with
 * five 32-bit-or-pointer parameters, which keeps Deno's fast call path;
 * FUTEX_WAIT and FUTEX_WAKE ignore the futex's last two arguments.
 *
 * The macOS backend is written from Apple's headers and not tested here.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { SymbolTable } from "../ffi/mod.ts";
import { ShmError } from "../errors.ts";
import { now, SLICE_MS } from "../internal/wait_backend.ts";
import type { WaitBackend, WaitResult } from "../internal/wait_backend.ts";
import { errnoTable } from "./errno.ts";
import { errnoError } from "./fail.ts";
import { libc } from "./libc.ts";

/** How each POSIX system sleeps on an address, as data. */
export const FUTEX = {
  linux: {
    /** `SYS_futex` per architecture (`process.arch` spelling). */
    nr: { x64: 202, arm64: 98, ia32: 240, arm: 240, riscv64: 98, ppc64: 221, s390x: 238 } as Readonly<
      Record<string, number>
    >,
    FUTEX_WAIT: 0,
    FUTEX_WAKE: 1,
  },
  darwin: {
    /** OS_SYNC_WAIT_ON_ADDRESS_SHARED and OS_SYNC_WAKE_BY_ADDRESS_SHARED. */
    OS_SYNC_SHARED: 1,
    /** os_clockid_t OS_CLOCK_MACH_ABSOLUTE_TIME (timeouts are relative nanoseconds). */
    OS_CLOCK_MACH_ABSOLUTE_TIME: 32,
    /** __ulock operation for a word shared between processes. */
    UL_COMPARE_AND_WAIT_SHARED: 3,
    ULF_WAKE_ALL: 0x100,
  },
} as const;

/** The Linux futex calls. */
const linuxSymbols = {
  // long syscall(long number, ...);  here: futex(int *uaddr, int futex_op, int val, const struct timespec *timeout)
  futex: { name: "syscall", parameters: ["i32", "buffer", "i32", "i32", "buffer"], result: "i32" },
  // The same, on a worker thread: the word and the timespec passed as addresses.
  futex_async: {
    name: "syscall",
    parameters: ["i32", "pointer", "i32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  // void *malloc(size_t size);  (timespecs for off-thread waits, kept for reuse)
  malloc: { parameters: ["usize"], result: "pointer" },
} as const satisfies SymbolTable;

/** The macOS calls; the os_sync ones exist from macOS 14.4. */
const darwinSymbols = {
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

function closedWhileWaiting(): ShmError {
  return new ShmError({
    code: "ERR_USE_AFTER_CLOSE",
    errno: 0,
    message: "The memory was closed while waiting on it",
  });
}

/** A timespec `{ tv_sec, tv_nsec }` of `ms` milliseconds. */
function setTimespec(ts: BigInt64Array, ms: number): void {
  const whole = Math.floor(ms);
  ts[0] = BigInt(Math.floor(whole / 1000));
  ts[1] = BigInt((whole % 1000) * 1_000_000 + Math.floor((ms - whole) * 1_000_000));
}

/**
 * The off-thread loop shared by both systems: sleeps in slices of at most
 * {@link SLICE_MS}, and re-reads the word after each (errno stays on the
 * worker thread): a changed word or a wake is "ok", the deadline "timed-out".
 */
async function sliced(
  word: Int32Array,
  expected: number,
  timeoutMs: number,
  sleep: (sliceMs: number) => Promise<number>,
): Promise<WaitResult> {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (word.length === 0) throw closedWhileWaiting();
    if (Atomics.load(word, 0) !== expected) return "ok";
    const left = deadline - now();
    if (left <= 0) return "timed-out";
    if ((await sleep(Math.min(left, SLICE_MS))) >= 0 && word.length !== 0) {
      return "ok";
    }
  }
}

interface Slot {
  readonly address: bigint;
  readonly ts: BigInt64Array;
}

function linuxBackend(): WaitBackend {
  const l = libc();
  const nr = FUTEX.linux.nr[ffi.arch];
  if (nr === undefined) throw new Error(`shmem does not know the futex system call number on '${ffi.arch}'`);
  const { futex, futex_async, malloc } = ffi.open(l.c.libraries, linuxSymbols).symbols;
  const { FUTEX_WAIT, FUTEX_WAKE } = FUTEX.linux;
  const errno = errnoTable("linux");
  const EAGAIN = errno.number("EAGAIN")!;
  const EINTR = errno.number("EINTR")!;
  const ETIMEDOUT = errno.number("ETIMEDOUT")!;
  const ts = new BigInt64Array(2);
  const free: Slot[] = [];
  const take = (): Slot => {
    const slot = free.pop();
    if (slot) return slot;
    const address = malloc(16) as bigint;
    if (address === 0n) throw errnoError("linux", "malloc", l.errno());
    return { address, ts: new BigInt64Array(ffi.view(address, 16)) };
  };
  return {
    wait(word, _address, expected, timeoutMs) {
      const deadline = now() + timeoutMs;
      for (;;) {
        let timeout: BigInt64Array | null = null;
        if (timeoutMs !== Infinity) {
          const left = deadline - now();
          if (left <= 0) return "timed-out";
          setTimespec(ts, left);
          timeout = ts;
        }
        if (futex(nr, word, FUTEX_WAIT, expected, timeout) === 0) return "ok";
        const e = l.errno();
        if (e === EAGAIN) return "not-equal";
        // ETIMEDOUT loops once more so that "timed-out" never comes before the deadline by our clock.
        if (e !== ETIMEDOUT && e !== EINTR) throw errnoError("linux", "futex", e);
      }
    },
    notify(word, _address, count) {
      const woken = futex(nr, word, FUTEX_WAKE, count, null) as number;
      if (woken < 0) throw errnoError("linux", "futex", l.errno());
      return woken;
    },
    async waitAsync(word, address, expected, timeoutMs) {
      const slot = take();
      try {
        return await sliced(word, expected, timeoutMs, (ms) => {
          setTimespec(slot.ts, ms);
          return futex_async(nr, address, FUTEX_WAIT, expected, slot.address);
        });
      } finally {
        free.push(slot);
      }
    },
  };
}

function darwinBackend(): WaitBackend {
  const l = libc();
  const s = ffi.open(l.c.libraries, darwinSymbols).symbols;
  const d = FUTEX.darwin;
  const ETIMEDOUT = errnoTable("darwin").number("ETIMEDOUT")!;
  const EINTR = errnoTable("darwin").number("EINTR")!;
  const ENOENT = errnoTable("darwin").number("ENOENT")!;
  const modern = s.os_wait !== undefined && s.os_wake_any !== undefined && s.os_wake_all !== undefined;
  if (!modern && (s.ulock_wait === undefined || s.ulock_wake === undefined)) {
    throw new Error("shmem needs os_sync_wait_on_address (macOS 14.4+) or __ulock_wait to wait on shared memory");
  }
  // One call; >= 0 is a wake (or a word that no longer matched), -1 sets errno.
  const once = (word: Int32Array, expected: number, ms: number): number =>
    modern
      ? s.os_wait!(
        word,
        expected >>> 0,
        4,
        d.OS_SYNC_SHARED,
        d.OS_CLOCK_MACH_ABSOLUTE_TIME,
        BigInt(Math.ceil(ms * 1e6)),
      )
      : s.ulock_wait!(d.UL_COMPARE_AND_WAIT_SHARED, word, expected >>> 0, Math.max(1, Math.ceil(ms * 1000)));
  // Longest single wait: __ulock_wait takes a 32-bit microsecond count.
  const MAX_MS = 3_600_000;
  return {
    wait(word, _address, expected, timeoutMs) {
      const deadline = now() + timeoutMs;
      for (;;) {
        const left = deadline - now();
        if (left <= 0) return "timed-out";
        if (once(word, expected, Math.min(left, MAX_MS)) >= 0) return "ok";
        const e = l.errno();
        if (e !== ETIMEDOUT && e !== EINTR) {
          throw errnoError("darwin", modern ? "os_sync_wait_on_address" : "__ulock_wait", e);
        }
      }
    },
    notify(word, _address, count) {
      const all = count > 1;
      const r = modern
        ? (all ? s.os_wake_all! : s.os_wake_any!)(word, 4, d.OS_SYNC_SHARED)
        : s.ulock_wake!(d.UL_COMPARE_AND_WAIT_SHARED | (all ? d.ULF_WAKE_ALL : 0), word, 0);
      if (r >= 0) return 1; // woken, how many is not reported
      const e = l.errno();
      if (e === ENOENT) return 0;
      throw errnoError("darwin", modern ? "os_sync_wake_by_address" : "__ulock_wake", e);
    },
    waitAsync(word, address, expected, timeoutMs) {
      return sliced(
        word,
        expected,
        timeoutMs,
        (ms) =>
          modern
            ? s.os_wait_async!(
              address,
              expected >>> 0,
              4,
              d.OS_SYNC_SHARED,
              d.OS_CLOCK_MACH_ABSOLUTE_TIME,
              Math.ceil(ms * 1e6),
            )
            : s.ulock_wait_async!(
              d.UL_COMPARE_AND_WAIT_SHARED,
              address,
              expected >>> 0,
              Math.max(1, Math.ceil(ms * 1000)),
            ),
      );
    },
  };
}

/** The wait backend for `os`, or `undefined` when it is not a POSIX system shmem knows. */
export function posixWaitBackend(os: string): WaitBackend | undefined {
  if (os === "linux") return linuxBackend();
  if (os === "darwin") return darwinBackend();
  return undefined;
}
