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
 * `waitAsync` goes through one {@link Waiter} per process: on Linux 5.16+
 * each of its calls is one `futex_waitv` over up to 127 words plus the
 * group's control word (so adding a wait wakes only that call), and at most
 * `ffi.maxNonblocking` such calls are pending; a call over a single word is a
 * plain FUTEX_WAIT, which costs the kernel one futex instead of two. On older
 * Linux kernels and on macOS a call sleeps on one word, so only
 * `maxNonblocking` waits sleep in the kernel and the rest are polled (see
 * `pollMs` in internal/waiter.ts): threads and memory stay as low, but a polled
 * wait sees its word change only after up to 20 ms and misses a bare notify.
 *
 * The macOS backend is written from Apple's headers and not tested here.
 *
 * @module
 */
import { ffi, now } from "../ffi/mod.ts";
import type { WaitBackend } from "../platform/contracts.ts";
import { Waiter } from "../internal/waiter.ts";
import type { SleepEntry, Sleeper, SleepGroup } from "../internal/waiter.ts";
import { errnoTable } from "./errno.ts";
import { errnoError } from "./fail.ts";
import { darwinWaitSymbols, libc, linuxWaitSymbols } from "./libc.ts";

/** How each POSIX system sleeps on an address, as data. */
export const FUTEX = {
  linux: {
    /** `SYS_futex` per architecture (`process.arch` spelling). */
    nr: { x64: 202, arm64: 98, ia32: 240, arm: 240, riscv64: 98, ppc64: 221, s390x: 238 } as Readonly<
      Record<string, number>
    >,
    FUTEX_WAIT: 0,
    FUTEX_WAKE: 1,
    /**
     * `futex_waitv(struct futex_waitv *waiters, unsigned int nr_futexes, unsigned int flags,
     * struct timespec *timeout, clockid_t clockid)`, Linux 5.16+: 449 on every
     * architecture (it came after the syscall tables were unified at 424).
     */
    FUTEX_WAITV: 449,
    /** Most words one futex_waitv call sleeps on (FUTEX_WAITV_MAX). */
    WAITV_MAX: 128,
    /** `struct futex_waitv { __u64 val; __u64 uaddr; __u32 flags; __u32 __reserved; }`. */
    WAITV_BYTES: 24,
    /** FUTEX2_SIZE_U32; without FUTEX2_PRIVATE (128), so it meets other processes. */
    FUTEX2_SIZE_U32: 2,
    /** futex_waitv's timeout is absolute on this clock. */
    CLOCK_MONOTONIC: 1,
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

/** A timespec `{ tv_sec, tv_nsec }` of `ms` milliseconds. */
function setTimespec(ts: BigInt64Array, ms: number): void {
  const whole = Math.floor(ms);
  ts[0] = BigInt(Math.floor(whole / 1000));
  ts[1] = BigInt((whole % 1000) * 1_000_000 + Math.floor((ms - whole) * 1_000_000));
}

/** How Linux sleeps on many words, given the errno of a probing `futex_waitv` call with no words. */
export function linuxWaitDesign(probeErrno: number): "futex_waitv" | "futex" {
  // The kernel checks nr_futexes == 0 first (EINVAL); ENOSYS before 5.16, EPERM under a seccomp filter.
  return probeErrno === errnoTable("linux").number("EINVAL") ? "futex_waitv" : "futex";
}

/** Milliseconds as a `{ tv_sec, tv_nsec }` timespec. */
function setTimespecNs(ts: BigInt64Array, ns: bigint): void {
  ts[0] = ns / 1_000_000_000n;
  ts[1] = ns % 1_000_000_000n;
}

/** The Linux futex backend. */
export function linuxBackend(): WaitBackend {
  const l = libc();
  const nr = FUTEX.linux.nr[ffi.arch];
  if (nr === undefined) throw new Error(`shmem does not know the futex system call number on '${ffi.arch}'`);
  const s = linuxWaitSymbols(l);
  const { futex } = s;
  const { FUTEX_WAIT, FUTEX_WAKE } = FUTEX.linux;
  const errno = errnoTable("linux");
  const EAGAIN = errno.number("EAGAIN")!;
  const EINTR = errno.number("EINTR")!;
  const ETIMEDOUT = errno.number("ETIMEDOUT")!;
  const ts = new BigInt64Array(2);
  const alloc = (bytes: number): { address: bigint; buffer: ArrayBuffer } => {
    const address = s.malloc(bytes);
    if (address === 0n) throw errnoError("linux", "malloc", l.errno());
    return { address, buffer: ffi.view(address, bytes) };
  };
  const design = Waiter.singleWord
    ? "futex"
    : s.futex_waitv(FUTEX.linux.FUTEX_WAITV, 0n, 0, 0, 0n, 0) === -1
    ? linuxWaitDesign(l.errno())
    : "futex";
  const sleeper = design === "futex_waitv"
    ? waitvSleeper(s, nr, alloc, l.errno)
    : futexSleeper(s.futex_async, nr, alloc);
  const waiter = new Waiter(sleeper);
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
      const woken = futex(nr, word, FUTEX_WAKE, count, null);
      if (woken < 0) throw errnoError("linux", "futex", l.errno());
      return woken;
    },
    waitAsync(word, address, expected, timeoutMs) {
      return waiter.wait(word, address, expected, timeoutMs);
    },
  };
}

type LinuxSymbols = ReturnType<typeof linuxWaitSymbols>;
type Alloc = (bytes: number) => { address: bigint; buffer: ArrayBuffer };

/**
 * Linux 5.16+: each group is one `futex_waitv` call over its control word
 * (entry 0, in the group's own memory) and up to 127 words. Ringing adds 1
 * to the control word and wakes it, which ends only this call.
 */
function waitvSleeper(s: LinuxSymbols, futexNr: number, alloc: Alloc, errnoNow: () => number): Sleeper {
  const { FUTEX_WAITV, WAITV_MAX, WAITV_BYTES, FUTEX2_SIZE_U32, CLOCK_MONOTONIC, FUTEX_WAIT, FUTEX_WAKE } = FUTEX.linux;
  const errno = errnoTable("linux");
  const transient = new Set(["EAGAIN", "EINTR", "ETIMEDOUT"].map((n) => errno.number(n)!));
  // Layout: control word at 0, timespec at 8, the futex_waitv array at 24.
  const bytes = 24 + WAITV_MAX * WAITV_BYTES;
  const clock = alloc(16);
  const clockTs = new BigInt64Array(clock.buffer);
  const monotonicNs = (): bigint => {
    if (s.clock_gettime(CLOCK_MONOTONIC, clock.address) !== 0) throw errnoError("linux", "clock_gettime", errnoNow());
    return clockTs[0] * 1_000_000_000n + clockTs[1];
  };
  return {
    perCall: WAITV_MAX - 1,
    maxCalls: ffi.maxNonblocking,
    group(): SleepGroup {
      const { address, buffer } = alloc(bytes);
      const control = new Int32Array(buffer, 0, 1);
      const ts = new BigInt64Array(buffer, 8, 2);
      const list = new DataView(buffer, 24);
      control[0] = 0;
      const fill = (entries: readonly SleepEntry[]): number => {
        const put = (i: number, address: bigint, value: number) => {
          list.setBigUint64(i * WAITV_BYTES, BigInt(value >>> 0), true);
          list.setBigUint64(i * WAITV_BYTES + 8, address, true);
          list.setUint32(i * WAITV_BYTES + 16, FUTEX2_SIZE_U32, true);
          list.setUint32(i * WAITV_BYTES + 20, 0, true);
        };
        put(0, address, Atomics.load(control, 0));
        entries.forEach((e, i) => put(i + 1, e.address, e.expected));
        return entries.length + 1;
      };
      // A call over one word is a plain FUTEX_WAIT on it (the kernel queues one futex instead of two);
      // ringing it wakes every waiter of that word, which is spurious for the others.
      let single: SleepEntry | undefined;
      let rung = false;
      return {
        async sleep(entries, untilMs) {
          const left = Math.max(0, untilMs - now());
          rung = false;
          if (entries.length === 1) {
            single = entries[0];
            setTimespecNs(ts, BigInt(Math.ceil(left * 1e6)));
            try {
              const r = await s.futex_async(futexNr, single.address, FUTEX_WAIT, single.expected, address + 8n);
              return r === 0 && !rung ? 0 : -1;
            } finally {
              single = undefined;
            }
          }
          const n = fill(entries);
          setTimespecNs(ts, monotonicNs() + BigInt(Math.ceil(left * 1e6)));
          const r = await s.futex_waitv_async(FUTEX_WAITV, address + 24n, n, 0, address + 8n, CLOCK_MONOTONIC);
          return r >= 1 ? r - 1 : -1;
        },
        ring() {
          rung = true;
          if (single !== undefined) {
            // A closed word cannot be woken: the call then returns within its slice.
            if (single.word.length !== 0) s.futex(futexNr, single.word, FUTEX_WAKE, 0x7fffffff, null);
            return;
          }
          Atomics.add(control, 0, 1);
          s.futex(futexNr, control, FUTEX_WAKE, 1, null);
        },
        diagnose(entries) {
          const n = fill(entries);
          setTimespecNs(ts, 0n); // long past: the call checks the words and returns at once
          if (s.futex_waitv(FUTEX_WAITV, address + 24n, n, 0, address + 8n, CLOCK_MONOTONIC) >= 0) return undefined;
          const e = errnoNow();
          return transient.has(e) ? undefined : errnoError("linux", "futex_waitv", e);
        },
      };
    },
  };
}

/** Linux before 5.16 (or futex_waitv refused): each call is one FUTEX_WAIT on one word. */
function futexSleeper(futexAsync: LinuxSymbols["futex_async"], futexNr: number, alloc: Alloc): Sleeper {
  return {
    perCall: 1,
    maxCalls: ffi.maxNonblocking,
    group(): SleepGroup {
      const { address, buffer } = alloc(16);
      const ts = new BigInt64Array(buffer);
      return {
        async sleep(entries, untilMs) {
          setTimespec(ts, Math.max(0, untilMs - now()));
          const r = await futexAsync(futexNr, entries[0].address, FUTEX.linux.FUTEX_WAIT, entries[0].expected, address);
          return r === 0 ? 0 : -1;
        },
      };
    },
  };
}

/** The macOS backend. */
export function darwinBackend(): WaitBackend {
  const l = libc();
  const s = darwinWaitSymbols(l);
  const d = FUTEX.darwin;
  const ENOENT = errnoTable("darwin").number("ENOENT")!;
  // Retried like EINTR: Apple documents EFAULT (the word could not be read in, e.g. a page paged
  // out under pressure) and ENOMEM (no kernel memory for the wait queue) as transient for
  // os_sync_wait_on_address and __ulock_wait (libplatform include/os/os_sync_wait_on_address.h;
  // xnu bsd/kern/sys_ulock.c, ulock_wait).
  const retry = darwinRetryErrnos();
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
  // waitAsync: each call sleeps on one word (macOS has no many-word wait); errno stays on that thread,
  // so any failure is treated as spurious and the word re-checked.
  const waiter = new Waiter({
    perCall: 1,
    maxCalls: ffi.maxNonblocking,
    group: (): SleepGroup => ({
      async sleep(entries, untilMs) {
        const ms = Math.max(0.001, Math.min(untilMs - now(), MAX_MS));
        const { address, expected } = entries[0];
        const r = modern
          ? await s.os_wait_async!(
            address,
            expected >>> 0,
            4,
            d.OS_SYNC_SHARED,
            d.OS_CLOCK_MACH_ABSOLUTE_TIME,
            Math.ceil(ms * 1e6),
          )
          : await s.ulock_wait_async!(
            d.UL_COMPARE_AND_WAIT_SHARED,
            address,
            expected >>> 0,
            Math.max(1, Math.ceil(ms * 1000)),
          );
        return r >= 0 ? 0 : -1;
      },
    }),
  });
  return {
    wait(word, _address, expected, timeoutMs) {
      const deadline = now() + timeoutMs;
      for (;;) {
        const left = deadline - now();
        if (left <= 0) return "timed-out";
        if (once(word, expected, Math.min(left, MAX_MS)) >= 0) return "ok";
        const e = l.errno();
        if (!retry.has(e)) {
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
      return waiter.wait(word, address, expected, timeoutMs);
    },
  };
}

/**
 * The errnos after which a macOS wait sleeps again instead of throwing:
 * ETIMEDOUT (our own deadline decides), EINTR, and the transient EFAULT and ENOMEM.
 */
export function darwinRetryErrnos(): ReadonlySet<number> {
  const t = errnoTable("darwin");
  return new Set(["ETIMEDOUT", "EINTR", "EFAULT", "ENOMEM"].map((n) => t.number(n)!));
}
