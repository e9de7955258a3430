// Platform data that cannot run here (macOS, Windows) is still checked here:
// constants, name rules, symbol names and the unsupported-OS error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { platformFor } from "../platform/mod.ts";
import { ffi } from "../ffi/mod.ts";
import { portableName } from "../names.ts";
import { posixConstants } from "../posix/constants.ts";
import { errnoNumbers, errnoTable } from "../posix/errno.ts";
import { decodeStat } from "../posix/stat.ts";
import { boundSymbols, DARWIN_ONLY, libcSymbols, LINUX_ONLY, variadicPadding, withVariadics } from "../posix/libc.ts";
import type { Libc } from "../posix/libc.ts";
import type { PosixConstants } from "../posix/constants.ts";
import { createWith, openWith } from "../posix/shm.ts";
import { DARWIN_FLOCK, holderConstants } from "../posix/holders.ts";
import { darwinProbe, decodeBsdInfo, PROC_BSDINFO } from "../posix/process.ts";
import { ShmError } from "../mod.ts";
import { uniqueName } from "../mod.ts";
import { OS, shmExists, testName } from "./helpers.ts";
import { readFileSync } from "node:fs";
import { libc } from "../posix/libc.ts";
import { Segment } from "../mod.ts";

test("Linux and Darwin constants differ where the systems do", () => {
  const linux = posixConstants("linux")!;
  const darwin = posixConstants("darwin")!;
  assert.equal(linux.O_CREAT, 0o100);
  assert.equal(linux.O_EXCL, 0o200);
  assert.equal(darwin.O_CREAT, 0x200);
  assert.equal(darwin.O_EXCL, 0x800);
  for (const c of [linux, darwin]) {
    assert.equal(c.MAP_SHARED, 1);
    assert.equal(c.PROT_READ, 1);
    assert.equal(c.PROT_WRITE, 2);
  }
  assert.equal(darwin.canReserve, false);
  assert.equal(darwin.resizable, false);
  assert.equal(posixConstants("win32"), undefined);
  assert.equal(posixConstants("freebsd"), undefined);
});

test("errno names follow each system's numbering", () => {
  assert.equal(errnoTable("linux").name(17), "EEXIST");
  assert.equal(errnoTable("linux").name(28), "ENOSPC");
  assert.equal(errnoTable("linux").name(11), "EAGAIN");
  assert.equal(errnoTable("darwin").name(35), "EAGAIN");
  assert.equal(errnoTable("darwin").name(63), "ENAMETOOLONG");
  assert.equal(errnoTable("darwin").name(60), "ETIMEDOUT");
  assert.equal(errnoTable("linux").name(9999), "E9999");
});

test("macOS names: at most 31 bytes with the slash, counted in UTF-8", () => {
  const rules = platformFor("darwin").named.nameRules;
  assert.equal(portableName("x".repeat(30), rules), "x".repeat(30));
  assert.equal(portableName("/" + "x".repeat(30), rules), "x".repeat(30));
  assert.throws(() => portableName("x".repeat(31), rules), /too long for macOS/);
  assert.throws(() => portableName("é".repeat(16), rules), RangeError); // 32 bytes
  assert.ok(uniqueName().length + 1 <= 31, "uniqueName() fits macOS");
});

test("Linux names: NAME_MAX bytes after the slash", () => {
  const rules = platformFor("linux").named.nameRules;
  assert.equal(portableName("x".repeat(255), rules).length, 255);
  assert.throws(() => portableName("x".repeat(256), rules), /too long for Linux/);
});

test("Windows names: no backslash after the prefix", () => {
  const rules = platformFor("win32").named.nameRules;
  assert.equal(portableName("wnsm_0123abcd", rules), "wnsm_0123abcd");
  assert.throws(() => portableName("a\\b", rules), /must not contain '\\'/);
});

test("Darwin symbol names: __error for errno, fstat$INODE64 on x64", () => {
  const darwin = posixConstants("darwin")!;
  assert.equal(libcSymbols(darwin, "x64").errno_location.name, "__error");
  assert.equal(libcSymbols(darwin, "x64").fstat.name, "fstat$INODE64");
  assert.equal(libcSymbols(darwin, "arm64").fstat.name, "fstat");
  assert.equal(libcSymbols(posixConstants("linux")!, "x64").errno_location.name, "__errno_location");
});

test("an unsupported OS gets a clear error, not a crash", () => {
  const backend = platformFor("aix").named;
  assert.throws(
    () => backend.create("x", { size: 1, mode: 0o600, reserve: true, namespace: "local" }),
    /does not support shared memory on 'aix'/,
  );
});

test("an unsupported OS: every call of its platform throws the same ERR_UNSUPPORTED, so nothing half-works", () => {
  // No memory can be mapped there, so no Region exists and a Mutex or Channel cannot be made;
  // wait(), the process probe and the CPU hints refuse alike instead of pretending.
  const called: string[] = [];
  const walk = (o: object, path: string) => {
    for (const [key, value] of Object.entries(o)) {
      if (typeof value === "function") {
        called.push(path + key);
        assert.throws(
          () => value(),
          (e: unknown) =>
            e instanceof ShmError && e.code === "ERR_UNSUPPORTED" &&
            /does not support shared memory on 'aix'/.test(e.message),
          path + key,
        );
      } else if (value !== null && typeof value === "object") walk(value, `${path}${key}.`);
    }
  };
  const aix = platformFor("aix");
  walk(aix, "");
  // Its limits refuse nothing: a valid request is told ERR_UNSUPPORTED, not that its size is too large.
  assert.equal(aix.named.maxSize, Number.MAX_SAFE_INTEGER);
  for (
    const entry of [
      "named.create",
      "named.open",
      "file.open",
      "sysv.create",
      "sysv.attach",
      "anonymous.create",
      "anonymous.open",
      "waitBackend",
      "processProbe",
      "cpu.currentCpu",
    ]
  ) {
    assert.ok(called.includes(entry), entry);
  }
});

test(
  "old glibc: shm_open is found through librt.so.1 when libc lacks it",
  { skip: OS !== "linux" && "Linux only" },
  () => {
    const linux = posixConstants("linux")!;
    const lib = ffi.open(["libshmem-does-not-exist.so.9", "librt.so.1"], boundSymbols(linux, ffi.arch));
    assert.equal(lib.path, "librt.so.1");
    const name = new TextEncoder().encode(`/${uniqueName("shmt_")}\0`);
    const fd = lib.symbols.shm_open(name, linux.O_RDWR | linux.O_CREAT | linux.O_EXCL, 0o600) as number;
    assert.ok(fd >= 0);
    assert.equal(lib.symbols.close(fd), 0);
    assert.equal(lib.symbols.shm_unlink(name), 0);
  },
);

test("a library that is missing everywhere names every candidate", () => {
  assert.throws(
    () => ffi.open(["libshmem-nope-1.so", "libshmem-nope-2.so"], { getpid: { parameters: [], result: "i32" } }),
    /libshmem-nope-1\.so.*libshmem-nope-2\.so/s,
  );
});

// --- macOS as data: the calls create/open make, in order, against a recording libc -------------

type Call = [string, ...unknown[]];

/**
 * A libc that records every call and answers like Darwin would: shm_open gives
 * fd 7 with the mode it was passed (the kernel applies no umask), fstat fills a
 * Darwin stat64 (mode u16 at 4, size at 96), mmap hands out fake addresses.
 */
function recordingLibc(c: PosixConstants, options: { size?: number; grantedMode?: number } = {}) {
  const calls: Call[] = [];
  let mode = 0;
  let next = 0x10000n;
  const record = (name: string, answer: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
    calls.push([name, ...args.map((a) => a instanceof Uint8Array ? "<buffer>" : a)]);
    return answer(...args);
  };
  const layout = c.stat.arm64;
  const symbols: Record<string, unknown> = {
    shm_open: record("shm_open", (_n, _f, m) => {
      mode = options.grantedMode ?? (m as number);
      return 7;
    }),
    fchmod: record("fchmod", () => -1),
    fstat: record("fstat", (_fd, buf) => {
      const v = new DataView((buf as Uint8Array).buffer);
      v.setUint16(layout.modeOffset, 0o100000 | mode, true);
      v.setBigInt64(layout.sizeOffset, BigInt(options.size ?? 16384), true);
      return 0;
    }),
    ftruncate: record("ftruncate", () => 0),
    mmap: record("mmap", () => (next += 0x10000n)),
    munmap: record("munmap", () => 0),
    memcpy: record("memcpy", (d) => d),
    close: record("close", () => 0),
    shm_unlink: record("shm_unlink", () => 0),
  };
  const l = { c, lib: { path: "libSystem", symbols }, errno: () => 22 } as unknown as Libc;
  return { l, calls, names: () => calls.map((call) => call[0]) };
}

const request = { size: 10000, mode: 0o640, reserve: true, namespace: "local" as const, track: true };

test("macOS create: shm_open carries the mode, fstat checks it, no fchmod on the shm fd", () => {
  const darwin = posixConstants("darwin")!;
  assert.equal(darwin.shmMode, "shm_open");
  const { l, calls, names } = recordingLibc(darwin);
  const raw = createWith(l, "frames", request);
  assert.deepEqual(names(), ["shm_open", "fstat", "ftruncate", "mmap"]);
  assert.deepEqual(calls[0], ["shm_open", "<buffer>", 0x2 | 0x200 | 0x800, 0o640]);
  assert.deepEqual(calls[2], ["ftruncate", 7, 10000]);
  // mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)
  assert.deepEqual(calls[3].slice(1), [0n, 10000, 3, 1, 7, 0]);
  assert.equal(raw.refresh, undefined);
  raw.release();
  assert.deepEqual(names().slice(4), ["munmap", "close"]);
});

test("macOS create: a mode that did not arrive is refused and nothing is left behind", () => {
  const { l, names } = recordingLibc(posixConstants("darwin")!, { grantedMode: 0o067 });
  assert.throws(
    () => createWith(l, "frames", request),
    (e: unknown) => e instanceof ShmError && e.code === "ERR_MODE" && /0o67, not the requested 0o640/.test(e.message),
  );
  assert.deepEqual(names(), ["shm_open", "fstat", "close", "shm_unlink"]);
});

test("Linux create: shm_open then fchmod (the umask applies to shm_open there)", () => {
  const linux = posixConstants("linux")!;
  assert.equal(linux.shmMode, "fchmod");
  const { l, names } = recordingLibc(linux);
  (l.lib.symbols as Record<string, unknown>).fchmod = () => -1;
  assert.throws(() => createWith(l, "frames", { ...request, track: false }), ShmError);
  assert.deepEqual(names(), ["shm_open", "close", "shm_unlink"]);
});

test("macOS read-only and private opens: mapped shared PROT_READ, handed out as a private copy with refresh()", () => {
  const darwin = posixConstants("darwin")!;
  for (const options of [{ readOnly: true, private: false }, { readOnly: false, private: true }]) {
    const { l, calls, names } = recordingLibc(darwin, { size: 16384 });
    const raw = openWith(l, "frames", { ...options, namespace: "local" });
    assert.deepEqual(names(), ["shm_open", "fstat", "mmap", "mmap", "memcpy"]);
    // Non-blocking, so a FIFO planted under the name cannot block the open.
    assert.deepEqual(calls[0], ["shm_open", "<buffer>", darwin.O_RDONLY | darwin.O_NONBLOCK, 0]);
    // The shared mapping: PROT_READ, MAP_SHARED (pshm_mmap refuses MAP_PRIVATE).
    const shared = calls[2][1 + 0] === 0n ? calls[2] : undefined;
    assert.deepEqual(shared?.slice(1), [0n, 16384, darwin.PROT_READ, darwin.MAP_SHARED, 7, 0]);
    // The copy: anonymous, private, writable; the only address handed out.
    assert.deepEqual(calls[3].slice(1), [0n, 16384, 3, darwin.MAP_PRIVATE | darwin.MAP_ANONYMOUS, -1, 0]);
    const sharedAt = 0x20000n;
    const copyAt = 0x30000n;
    assert.equal(raw.address, copyAt);
    assert.equal(raw.size, 16384, "the page-rounded size fstat reports");
    assert.deepEqual(calls[4].slice(1), [copyAt, sharedAt, 16384]);
    raw.refresh!(100, 10);
    assert.deepEqual(calls[5], ["memcpy", copyAt + 100n, sharedAt + 100n, 10]);
    raw.release();
    assert.deepEqual(names().slice(6), ["munmap", "munmap", "close"]);
    raw.refresh!(0, 1); // after release: no copy from unmapped memory
    assert.equal(names().length, 9);
  }
});

test("macOS read-write open: one shared writable mapping, no copy", () => {
  const darwin = posixConstants("darwin")!;
  const { l, calls, names } = recordingLibc(darwin, { size: 16384 });
  const raw = openWith(l, "frames", { readOnly: false, private: false, namespace: "local" });
  assert.deepEqual(names(), ["shm_open", "fstat", "mmap"]);
  assert.deepEqual(calls[2].slice(1), [0n, 16384, 3, darwin.MAP_SHARED, 7, 0]);
  assert.equal(raw.refresh, undefined);
});

test("Linux read-only open: MAP_PRIVATE and writable, no copy", () => {
  const linux = posixConstants("linux")!;
  const { l, calls, names } = recordingLibc(linux);
  (l.lib.symbols as Record<string, unknown>).lseek = () => 8192;
  const h = holderConstants("linux");
  assert.ok(h);
  // The Linux open takes the holder lock through fcntl and checks st_nlink > 0 with fstat; answer both.
  (l.lib.symbols as Record<string, unknown>).fcntl_lock = () => 0;
  (l.lib.symbols as Record<string, unknown>).fstat = (_fd: number, buf: Uint8Array) => {
    buf[16] = 1; // st_nlink on x86-64 (u64 at 16)
    buf[20] = 1; // st_nlink on arm64 (u32 at 20)
    const v = new DataView(buf.buffer, buf.byteOffset);
    v.setUint32(linux.stat[process.arch === "arm64" ? "arm64" : "x64"].modeOffset, 0o100600, true); // a regular file
    return 0;
  };
  const raw = openWith(l, "frames", { readOnly: true, private: false, namespace: "local" });
  assert.deepEqual(names().filter((n) => n === "mmap").length, 1);
  assert.deepEqual(calls.find((call) => call[0] === "mmap")!.slice(1), [0n, 8192, 3, linux.MAP_PRIVATE, 7, 0]);
  assert.equal(raw.refresh, undefined);
});

test("variadic functions per architecture: the mode/third argument lands where va_arg reads it", () => {
  const cases: [string, string, number][] = [["darwin", "arm64", 6], ["darwin", "x64", 0], ["linux", "x64", 0], [
    "linux",
    "arm64",
    0,
  ]];
  for (const [os, arch, padding] of cases) {
    assert.equal(variadicPadding(os, arch), padding, `${os}-${arch}`);
    const t = libcSymbols(posixConstants(os)!, arch);
    const pads = Array.from({ length: padding }, () => "i64");
    const slot = padding > 0 ? "i64" : "u32";
    assert.deepEqual(t.shm_open.parameters, ["buffer", "i32", ...pads, slot], `${os}-${arch} shm_open`);
    assert.deepEqual(t.open.parameters, ["buffer", "i32", ...pads, slot], `${os}-${arch} open`);
    assert.deepEqual(t.fcntl.parameters, ["i32", "i32", ...pads, padding > 0 ? "i64" : "i32"], `${os}-${arch} fcntl`);
    assert.deepEqual(t.fcntl_lock.parameters, ["i32", "i32", ...pads, "buffer"], `${os}-${arch} fcntl lock`);
  }
  // Apple arm64: 8 register arguments, then the variadic one as the ninth, which goes to [sp].
  assert.equal(libcSymbols(posixConstants("darwin")!, "arm64").shm_open.parameters.length, 9);
  // Callers still pass the C arguments; the padding is inserted in between.
  const seen: unknown[][] = [];
  const raw = (...args: unknown[]) => (seen.push(args), 3);
  const wrapped = withVariadics({ shm_open: raw, open: raw, fcntl: raw, fcntl_lock: raw, close: raw }, 6);
  assert.equal(wrapped.shm_open("n", 0x200, 0o600), 3);
  assert.deepEqual(seen[0], ["n", 0x200, 0, 0, 0, 0, 0, 0, 0o600]);
  wrapped.open("p", 0);
  assert.deepEqual(seen[1], ["p", 0, 0, 0, 0, 0, 0, 0, 0], "a missing mode is 0");
  wrapped.close(4);
  assert.deepEqual(seen[2], [4], "fixed functions are untouched");
  assert.equal(withVariadics({ shm_open: raw }, 0).shm_open, raw);
});

test("no Linux-only prototype is bound on macOS; Darwin names where they differ", () => {
  const darwin = posixConstants("darwin")!;
  const linux = posixConstants("linux")!;
  for (const arch of ["x64", "arm64"]) {
    const bound = Object.keys(boundSymbols(darwin, arch));
    for (const key of LINUX_ONLY) assert.ok(!bound.includes(key), `${key} is not bound on darwin-${arch}`);
    for (const key of ["shm_open", "shm_unlink", "ftruncate", "mmap", "munmap", "fstat", "memcpy", "shmat"]) {
      assert.ok(bound.includes(key), `${key} is bound on darwin-${arch}`);
    }
    for (const key of DARWIN_ONLY) assert.ok(bound.includes(key), `${key} is bound on darwin-${arch}`);
    // Everything but macOS's own calls is bound on Linux.
    const linuxBound = Object.keys(boundSymbols(linux, arch));
    assert.deepEqual(linuxBound, Object.keys(libcSymbols(linux, arch)).filter((key) => !DARWIN_ONLY.has(key)));
    for (const key of ["futex", "futex_waitv", "clock_gettime"]) assert.ok(linuxBound.includes(key), key);
  }
  for (const key of ["proc_pidinfo", "os_wait", "ulock_wait"]) assert.ok(DARWIN_ONLY.has(key), key);
  for (const key of ["fsetxattr", "fgetxattr", "lstat", "readdir", "memfd_create", "posix_fallocate"]) {
    assert.ok(LINUX_ONLY.has(key), key);
  }
  // Darwin keeps nothing of Linux's holder machinery (flock layout, OFD numbers, xattrs).
  assert.equal(holderConstants("darwin"), undefined);
});

test("byte layouts read by offset: Darwin stat64, flock, shmid_ds, proc_bsdinfo", () => {
  const darwin = posixConstants("darwin")!;
  for (const arch of ["x64", "arm64"]) {
    const d = darwin.stat[arch];
    // xnu's stat64: st_mode u16 at 4, st_nlink u16 at 6, st_ino at 8, st_uid at 16, st_ctimespec at 64, st_size at 96.
    assert.deepEqual(
      [d.bytes, d.modeOffset, d.modeBytes, d.nlinkOffset, d.nlinkBytes, d.inoOffset, d.uidOffset, d.ctimeOffset],
      [144, 4, 2, 6, 2, 8, 16, 64],
    );
    assert.equal(d.sizeOffset, 96);
  }
  assert.deepEqual(darwin.sizeBy, { call: "fstat", symbol: { arm64: "fstat", x64: "fstat$INODE64" } });
  // Linux's 128-byte arm64 stat would overflow under Darwin's 144-byte stat64: never used there.
  assert.equal(posixConstants("linux")!.stat.arm64.bytes, 128);
  assert.deepEqual(DARWIN_FLOCK, {
    flock: { bytes: 24, start: 0, len: 8, pid: 16, type: 20, whence: 22 },
    F_RDLCK: 1,
    F_UNLCK: 2,
    F_WRLCK: 3,
  });
  const linuxLock = holderConstants("linux")!;
  assert.deepEqual(linuxLock.flock, { bytes: 32, type: 0, whence: 2, start: 8, len: 16, pid: 24 });
  assert.deepEqual([linuxLock.F_RDLCK, linuxLock.F_WRLCK, linuxLock.F_UNLCK], [0, 1, 2]);
  const s = darwin.sysv;
  assert.deepEqual(
    [s.dsBytes, s.uidOffset, s.modeOffset, s.keyOffset, s.segszOffset, s.nattchOffset, s.nattchBytes],
    [76, 0, 16, 20, 24, 40, 2],
  );
  assert.deepEqual(PROC_BSDINFO, {
    PROC_PIDTBSDINFO: 3,
    bytes: 136,
    statusOffset: 4,
    pidOffset: 12,
    startSecOffset: 120,
    startUsecOffset: 128,
    SZOMB: 5,
  });
  const info = new Uint8Array(136);
  const v = new DataView(info.buffer);
  v.setUint32(4, 5, true);
  v.setUint32(12, 4242, true);
  v.setBigUint64(120, 1_700_000_000n, true);
  v.setBigUint64(128, 250_000n, true);
  assert.deepEqual(decodeBsdInfo(info), {
    pid: 4242,
    zombie: true,
    start: Number((1_700_000_000_250n) & ((1n << 42n) - 1n)),
  });
});

test("macOS process probe: a zombie and a reused pid are dead, a refused query falls back to kill", () => {
  const procs = new Map<number, { status: number; sec: bigint }>([
    [100, { status: 2, sec: 1000n }], // this process, running
    [200, { status: 5, sec: 1000n }], // a zombie
    [300, { status: 3, sec: 2000n }], // sleeping
  ]);
  let errno = 0;
  const calls: string[] = [];
  const probe = darwinProbe({
    getpid: () => 100,
    kill: (pid) => (calls.push(`kill ${pid}`), pid === 400 ? 0 : (errno = 3, -1)),
    proc_pidinfo: (pid, flavor, _arg, buffer, size) => {
      assert.equal(flavor, 3);
      assert.equal(size, 136);
      calls.push(`info ${pid}`);
      if (pid === 400) return (errno = 1, 0); // EPERM
      const p = procs.get(pid);
      if (!p) return (errno = 3, 0); // ESRCH
      const v = new DataView(buffer.buffer);
      v.setUint32(4, p.status, true);
      v.setUint32(12, pid, true);
      v.setBigUint64(120, p.sec, true);
      v.setBigUint64(128, 0n, true);
      return 136;
    },
    errno: () => errno,
  });
  assert.deepEqual(probe.self(), { pid: 100, start: 1_000_000 });
  assert.equal(probe.alive(100, 1_000_000), true);
  assert.equal(probe.alive(200, 1_000_000), false, "zombie");
  assert.equal(probe.alive(300, 1_000_000), false, "pid reused by a later process");
  assert.equal(probe.alive(300, 2_000_000), true);
  assert.equal(probe.alive(300, 0), true, "no start recorded: the pid decides");
  assert.equal(probe.alive(999, 5), false, "no such process");
  assert.equal(probe.alive(400, 5), true, "proc_pidinfo refused, kill(pid, 0) says alive");
  assert.ok(!calls.includes("kill 999"));
});

test("errno tables: Darwin ENOTSUP 45, ENOATTR 93; Linux keeps EOPNOTSUPP and ENODATA", () => {
  const darwin = errnoTable("darwin");
  const linux = errnoTable("linux");
  assert.equal(darwin.name(45), "ENOTSUP");
  assert.equal(darwin.name(102), "EOPNOTSUPP");
  assert.equal(darwin.name(93), "ENOATTR");
  assert.equal(darwin.name(96), "ENODATA");
  assert.equal(darwin.number("ENOTSUP"), 45);
  assert.equal(darwin.number("ENOATTR"), 93);
  assert.equal(linux.name(95), "EOPNOTSUPP");
  assert.equal(linux.name(61), "ENODATA");
  assert.equal(linux.number("ENOTSUP"), 95);
  const rows: [string, number, number][] = [
    ["EAGAIN", 11, 35],
    ["EDEADLK", 35, 11],
    ["ENAMETOOLONG", 36, 63],
    ["ENOLCK", 37, 77],
    ["ENOSYS", 38, 78],
    ["ELOOP", 40, 62],
    ["EOVERFLOW", 75, 84],
    ["ETIMEDOUT", 110, 60],
    ["EOWNERDEAD", 130, 105],
    ["EEXIST", 17, 17],
    ["EMFILE", 24, 24],
  ];
  for (const [name, l, d] of rows) {
    assert.equal(linux.number(name), l, `linux ${name}`);
    assert.equal(darwin.number(name), d, `darwin ${name}`);
    assert.equal(darwin.name(d), name);
  }
});

// --- the macOS code paths, run for real on Linux with the Darwin choices switched on -------------

test(
  "the macOS read-only copy, run on Linux: a private copy of the shared pages, refreshed on demand",
  { skip: OS !== "linux" && "Linux only" },
  () => {
    const real = libc();
    const l = { ...real, c: { ...real.c, shmCopyOnWrite: "copy" as const } };
    const name = testName();
    const writer = Segment.create(name, { size: 8192 });
    try {
      writer.bytes()[0] = 1;
      writer.bytes()[8191] = 2;
      const raw = openWith(l, name, { readOnly: true, private: false, namespace: "local" });
      const copy = new Uint8Array(ffi.view(raw.address, raw.size));
      assert.equal(raw.size, 8192);
      assert.deepEqual([copy[0], copy[8191]], [1, 2], "the copy holds the bytes at open");
      writer.bytes()[0] = 3;
      assert.equal(copy[0], 1, "a copy does not follow the writer...");
      raw.refresh!(0, 1);
      assert.equal(copy[0], 3, "...until refreshed");
      copy[8191] = 9; // a write to the copy: no crash, and never shared
      assert.equal(writer.bytes()[8191], 2);
      raw.refresh!(8191, 1);
      assert.equal(copy[8191], 2, "refresh replaces this process's own writes");
      copy.buffer.transfer(0);
      raw.release();
      raw.refresh!(0, 1); // after release: nothing to copy from, and no crash
    } finally {
      writer.close();
      Segment.unlink(name);
    }
  },
);

test(
  "the macOS mode check, run on Linux: a mode shm_open did not give is refused and the name removed",
  { skip: OS !== "linux" && "Linux only" },
  () => {
    const real = libc();
    const l = { ...real, c: { ...real.c, shmMode: "shm_open" as const } };
    const name = testName();
    // shm_open applies the umask on Linux: o+w does not survive a umask with 002 (022 and 002 both have it).
    const umask = parseInt(/^Umask:\s*([0-7]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0", 8);
    const wide = { size: 4096, mode: 0o602, reserve: true, namespace: "local" as const, track: false };
    if (umask & 0o002) {
      assert.throws(
        () => createWith(l, name, wide),
        (e: unknown) => e instanceof ShmError && e.code === "ERR_MODE" && /not the requested 0o602/.test(e.message),
      );
      assert.equal(shmExists(name), false, "nothing left behind");
    } else {
      createWith(l, name, wide).release(); // the mode arrived whole: accepted
      Segment.unlink(name);
    }
    const raw = createWith(l, name, { size: 4096, mode: 0o600, reserve: true, namespace: "local", track: false });
    raw.release();
    Segment.unlink(name);
  },
);

test("Segment.refresh(): a no-op on live views, range-checked, refused after close", () => {
  const name = testName();
  const writer = Segment.create(name, { size: 4096 });
  const reader = Segment.open(name, { readOnly: true });
  try {
    writer.bytes()[5] = 7;
    reader.refresh();
    reader.refresh(5, 1);
    assert.equal(reader.bytes()[5], 7, "live on Linux and Windows; copied again by refresh() on macOS");
    writer.refresh(); // read-write: always current
    assert.throws(() => reader.refresh(4000, 500), RangeError);
    assert.throws(() => reader.refresh(-1), RangeError);
  } finally {
    reader.close();
    writer.close();
    Segment.unlink(name);
  }
  assert.throws(() => reader.refresh(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
});

test("one struct stat reader for every layout: Linux x86-64, Linux arm64, Darwin stat64", () => {
  const cases: [string, string][] = [["linux", "x64"], ["linux", "arm64"], ["darwin", "x64"], ["darwin", "arm64"]];
  for (const [os, arch] of cases) {
    const c = posixConstants(os)!;
    const layout = c.stat[arch];
    const buf = new Uint8Array(layout.bytes);
    const v = new DataView(buf.buffer);
    const st_mode = 0o100640;
    if (layout.modeBytes === 2) v.setUint16(layout.modeOffset, st_mode, true);
    else v.setUint32(layout.modeOffset, st_mode, true);
    if (layout.nlinkBytes === 8) v.setBigUint64(layout.nlinkOffset, 3n, true);
    else if (layout.nlinkBytes === 4) v.setUint32(layout.nlinkOffset, 3, true);
    else v.setUint16(layout.nlinkOffset, 3, true);
    v.setBigUint64(layout.inoOffset, 123456789n, true);
    v.setUint32(layout.uidOffset, 1000, true);
    v.setBigInt64(layout.sizeOffset, 16384n, true);
    v.setBigInt64(layout.ctimeOffset, 1_700_000_000n, true);
    v.setBigInt64(layout.ctimeOffset + 8, 250_000_000n, true);
    assert.deepEqual(decodeStat(c, layout, buf), {
      type: 0o100000,
      mode: 0o640,
      size: 16384,
      dev: 0n,
      ino: 123456789n,
      nlink: 3,
      uid: 1000,
      ctimeMs: 1_700_000_000_250,
      isFile: true,
    }, `${os}-${arch}`);
  }
});

test("errno numbers by name follow each OS's table", () => {
  assert.equal(errnoNumbers("linux").EIDRM, 43);
  assert.equal(errnoNumbers("darwin").EIDRM, 90);
  assert.equal(errnoNumbers("linux").ENOSYS, 38);
  assert.equal(errnoNumbers("darwin").ENOSYS, 78);
  assert.equal(errnoNumbers("darwin").EOPNOTSUPP, 102);
  assert.equal(errnoNumbers("darwin").EEXIST, 17);
  assert.equal(errnoTable("darwin").number("NOT_AN_ERRNO"), undefined);
});
