// The Windows backend's data, checked on every platform (the behaviour itself
// is tested under Wine by tests/windows/suite.ts): Win32 errors as errno
// codes, kernel object names, name rules and lifetime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { platformFor } from "../platform/mod.ts";
import { portableName } from "../names.ts";
import { ShmError } from "../mod.ts";
import { win32Code, win32Error } from "../windows/errors.ts";
import { objectName, WINDOWS_NAME_RULES } from "../windows/mapping.ts";
import { posixFileBackend } from "../posix/file.ts";
import { windowsFileBackend } from "../windows/file.ts";
import {
  createWith,
  decodeRegion,
  decodeSectionInfo,
  GLOBAL_EACCES_HINT,
  openWith,
  usableSize,
} from "../windows/mapping.ts";
import { ADVAPI32, KERNEL32, NTDLL, WIN } from "../windows/kernel32.ts";
import { fnv1a64, wakeObjectNames } from "../windows/wait_objects.ts";
import { WORDS_PER_CALL } from "../windows/wait_kernel.ts";
import { setWindowsWaitDesign, windowsWaitBackend } from "../windows/wait.ts";
import type { Kernel32 } from "../windows/kernel32.ts";
import { boundSymbols, LINUX_ONLY } from "../posix/libc.ts";
import { posixConstants } from "../posix/constants.ts";

test("Win32 errors map to errno codes and keep the Win32 number", () => {
  const cases: [number, string][] = [
    [2, "ENOENT"],
    [5, "EACCES"],
    [8, "ENOMEM"],
    [14, "ENOMEM"],
    [112, "ENOSPC"],
    [183, "EEXIST"],
    [1314, "EPERM"],
    [1455, "ENOSPC"],
    [9999, "EWIN9999"],
  ];
  for (const [error, code] of cases) assert.equal(win32Code(error), code, `Win32 error ${error}`);
  const e = win32Error("CreateFileMappingW", 1455, "frames");
  assert.ok(e instanceof ShmError);
  assert.equal(e.code, "ENOSPC");
  assert.equal(e.errno, 1455);
  assert.equal(e.syscall, "CreateFileMappingW");
  assert.equal(e.path, "frames");
  assert.match(e.message, /CreateFileMappingW failed for 'frames': ENOSPC \(ERROR_COMMITMENT_LIMIT\)/);
  const denied = win32Error("OpenFileMappingW", 5, "frames");
  assert.equal(denied.code, "EACCES");
  assert.match(denied.message, /ERROR_ACCESS_DENIED/);
  const custom = win32Error("OpenFileMappingW", 6, "frames", "ENOENT", "taken by an event");
  assert.equal(custom.code, "ENOENT");
  assert.equal(custom.errno, 6);
  assert.match(custom.message, /ENOENT \(taken by an event\)/);
});

test("Windows kernel object names: Local\\ by default, Global\\ on request, NUL-terminated UTF-16", () => {
  const decode = (units: Uint16Array) => String.fromCharCode(...units);
  assert.equal(decode(objectName("frames", "local")), "Local\\frames\0");
  assert.equal(decode(objectName("frames", "global")), "Global\\frames\0");
  assert.equal(decode(objectName("wnsm_0123abcd", "local")), "Local\\wnsm_0123abcd\0");
  assert.equal(decode(objectName("ünï€😀", "local")), "Local\\ünï€😀\0");
});

test("Windows name rules: 260 UTF-16 units with the longest prefix, no backslash", () => {
  const rules = platformFor("win32").named.nameRules;
  assert.equal(portableName("x".repeat(253), rules).length, 253);
  assert.equal(portableName("/" + "x".repeat(253), rules).length, 253);
  assert.throws(() => portableName("x".repeat(254), rules), /too long for Windows: 261 UTF-16 units/);
  // Counted in UTF-16 units: an astral character is two.
  assert.throws(() => portableName("😀".repeat(127), rules), RangeError);
  assert.throws(() => portableName("Global\\frames", rules), /must not contain '\\'/);
  assert.throws(() => portableName("a\\b", rules), RangeError);
});

test("Windows lifetime: names vanish with the last handle, unlink does nothing", () => {
  const backend = platformFor("win32").named;
  assert.equal(backend.persistent, false);
  assert.equal(platformFor("linux").named.persistent, true);
  // A no-op that makes no system call, so it runs anywhere.
  assert.equal(backend.unlink("frames", "local"), undefined);
  assert.ok(backend.maxSize >= 2 ** 40);
});

test("Windows files: the file backend is chosen by OS; file errors map to errno codes", () => {
  assert.equal(platformFor("win32").file, windowsFileBackend);
  assert.equal(platformFor("linux").file, posixFileBackend);
  assert.equal(platformFor("darwin").file, posixFileBackend);
  const cases: [number, string][] = [
    [3, "ENOENT"],
    [19, "EROFS"],
    [32, "EBUSY"],
    [39, "ENOSPC"],
    [80, "EEXIST"],
    [267, "ENOTDIR"],
    [1006, "EINVAL"],
    [1224, "EBUSY"],
  ];
  for (const [error, code] of cases) assert.equal(win32Code(error), code, `Win32 error ${error}`);
  const hinted = win32Error("CreateFileW", 32, "data.bin", undefined, undefined, "Close it elsewhere");
  assert.equal(hinted.code, "EBUSY");
  assert.match(hinted.message, /ERROR_SHARING_VIOLATION\)\. Close it elsewhere$/);
});

// --- Windows as data: the calls create/open make, in order, and the layouts they read ----------

/** A section as NtQuerySection would fill SECTION_BASIC_INFORMATION. */
function sectionInfo(attributes: number, maximumSize: number): Uint8Array {
  const info = new Uint8Array(WIN.SECTION_BASIC_INFORMATION.bytes);
  const v = new DataView(info.buffer);
  v.setBigUint64(0, 0n, true);
  v.setUint32(8, attributes, true);
  v.setBigInt64(16, BigInt(maximumSize), true);
  return info;
}

/** A region as VirtualQuery would fill MEMORY_BASIC_INFORMATION (64-bit). */
function regionInfo(size: number, state: number): Uint8Array {
  const mbi = new Uint8Array(WIN.MEMORY_BASIC_INFORMATION.bytes);
  const v = new DataView(mbi.buffer);
  v.setBigUint64(24, BigInt(size), true);
  v.setUint32(32, state, true);
  v.setUint32(36, 0x04, true); // Protect, after State
  return mbi;
}

/** A kernel32/ntdll that records the calls and answers like Windows. */
function recordingKernel32(answers: { lastError?: number; section?: Uint8Array; region?: Uint8Array } = {}) {
  const calls: unknown[][] = [];
  const record = (name: string, answer: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
    calls.push([name, ...args.map((a) => (a instanceof Uint8Array || a instanceof Uint16Array ? "<buffer>" : a))]);
    return answer(...args);
  };
  const k = {
    CreateFileMappingW: record("CreateFileMappingW", () => 0x40n),
    CreateFileMappingSecured: record("CreateFileMappingSecured", () => 0x40n),
    OpenFileMappingW: record("OpenFileMappingW", () => 0x44n),
    GetLastError: record("GetLastError", () => answers.lastError ?? 0),
    MapViewOfFile: record("MapViewOfFile", () => 0x7000_0000n),
    UnmapViewOfFile: record("UnmapViewOfFile", () => 1),
    CloseHandle: record("CloseHandle", () => 1),
    VirtualQuery: record("VirtualQuery", (_a, buf) => {
      (buf as Uint8Array).set(answers.region ?? regionInfo(8192, WIN.MEM_COMMIT));
      return 48;
    }),
    LocalFree: record("LocalFree", () => 0n),
  };
  const nt = {
    NtQuerySection: record("NtQuerySection", (_h, _c, buf) => {
      (buf as Uint8Array).set(answers.section ?? sectionInfo(WIN.SEC_COMMIT, 8192));
      return 0;
    }),
  };
  const advapi = {
    ConvertStringSecurityDescriptorToSecurityDescriptorW: record("ConvertSddl", (sddl, _rev, out) => {
      const text = String.fromCharCode(...(sddl as Uint16Array)).replace(/\0$/, "");
      if (!text.startsWith("D:")) return 0;
      (out as BigUint64Array)[0] = 0x5d00n;
      return 1;
    }),
  };
  const w = {
    k: { path: "kernel32.dll", symbols: k },
    nt: { path: "ntdll.dll", symbols: nt },
    advapi32: () => ({ path: "advapi32.dll", symbols: advapi }),
  } as unknown as Kernel32;
  return { w, calls, names: () => calls.map((c) => c[0]) };
}

const createRequest = { size: 5000, mode: 0o600, reserve: true, namespace: "local" as const };

test("Windows create: CreateFileMappingW, its own last error at once, then the view", () => {
  const { w, calls, names } = recordingKernel32();
  const raw = createWith(w, "frames", createRequest);
  assert.deepEqual(names(), ["CreateFileMappingW", "GetLastError", "MapViewOfFile"]);
  assert.deepEqual(calls[0].slice(1, 6), [WIN.INVALID_HANDLE_VALUE, 0n, WIN.PAGE_READWRITE | WIN.SEC_COMMIT, 0, 5000]);
  assert.deepEqual(calls[2].slice(1), [0x40n, WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE, 0, 0, 5000]);
  assert.equal(raw.size, 5000);
  // ERROR_ALREADY_EXISTS: the handle Windows gave back is closed, never mapped.
  const taken = recordingKernel32({ lastError: WIN.ERROR_ALREADY_EXISTS });
  assert.throws(
    () => createWith(taken.w, "frames", createRequest),
    (e: unknown) => e instanceof ShmError && e.code === "EEXIST" && e.errno === 183,
  );
  assert.deepEqual(taken.names(), ["CreateFileMappingW", "GetLastError", "CloseHandle"]);
});

test("Windows create with sddl: the descriptor goes in SECURITY_ATTRIBUTES and is freed; a bad one creates nothing", () => {
  const { w, calls, names } = recordingKernel32();
  createWith(w, "frames", { ...createRequest, sddl: "D:P(A;;GA;;;OW)" });
  assert.deepEqual(names(), ["ConvertSddl", "CreateFileMappingSecured", "GetLastError", "LocalFree", "MapViewOfFile"]);
  assert.deepEqual(calls[0].slice(2, 3), [WIN.SDDL_REVISION_1]);
  assert.deepEqual(calls[3], ["LocalFree", 0x5d00n]);
  assert.deepEqual(WIN.SECURITY_ATTRIBUTES, { bytes: 24, descriptorOffset: 8, inheritOffset: 16 });
  const bad = recordingKernel32({ lastError: 1336 });
  assert.throws(
    () => createWith(bad.w, "frames", { ...createRequest, sddl: "nonsense" }),
    (e: unknown) =>
      e instanceof ShmError && e.code === "EINVAL" &&
      e.syscall === "ConvertStringSecurityDescriptorToSecurityDescriptorW",
  );
  assert.deepEqual(bad.names(), ["ConvertSddl", "GetLastError"]);
});

test("Windows create under Global\\: access denied hints at SeCreateGlobalPrivilege", () => {
  const denied = recordingKernel32({ lastError: WIN.ERROR_ACCESS_DENIED });
  (denied.w.k.symbols as Record<string, unknown>).CreateFileMappingW = () => 0n;
  assert.throws(
    () => createWith(denied.w, "frames", { ...createRequest, namespace: "global" }),
    (e: unknown) => e instanceof ShmError && e.code === "EACCES" && e.message.includes("SeCreateGlobalPrivilege"),
  );
  assert.match(GLOBAL_EACCES_HINT, /SeCreateGlobalPrivilege/);
});

test("Windows open: OpenFileMappingW with SECTION_QUERY, NtQuerySection before mapping, VirtualQuery after", () => {
  const { w, calls, names } = recordingKernel32();
  const raw = openWith(w, "frames", { readOnly: false, private: false, namespace: "local" });
  assert.deepEqual(names(), ["OpenFileMappingW", "NtQuerySection", "MapViewOfFile", "VirtualQuery"]);
  assert.equal(calls[0][1], WIN.SECTION_QUERY | WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE);
  assert.equal(raw.size, 8192, "the section's page-rounded size");
  const copy = recordingKernel32();
  openWith(copy.w, "frames", { readOnly: true, private: false, namespace: "local" });
  assert.equal(copy.calls[0][1], WIN.SECTION_QUERY | WIN.FILE_MAP_READ);
  assert.equal(copy.calls[2][2], WIN.FILE_MAP_COPY, "read-only opens are copy-on-write views");
});

test("Windows open: SEC_IMAGE is refused before mapping; SEC_RESERVE gives only its committed pages", () => {
  const image = recordingKernel32({ section: sectionInfo(WIN.SEC_IMAGE | 0x800000, 0x19500) });
  assert.throws(
    () => openWith(image.w, "dll", { readOnly: true, private: false, namespace: "local" }),
    (e: unknown) => e instanceof ShmError && e.code === "EINVAL" && /SEC_IMAGE/.test(e.message),
  );
  assert.deepEqual(image.names(), ["OpenFileMappingW", "NtQuerySection", "CloseHandle"]);

  const reserve = recordingKernel32({
    section: sectionInfo(WIN.SEC_RESERVE, 128 * 2 ** 30),
    region: regionInfo(65536, WIN.MEM_COMMIT),
  });
  const raw = openWith(reserve.w, "iceoryx2", { readOnly: false, private: false, namespace: "local" });
  assert.equal(raw.size, 65536);

  const nothing = recordingKernel32({
    section: sectionInfo(WIN.SEC_RESERVE, 2 ** 20),
    region: regionInfo(2 ** 20, 0x2000 /* MEM_RESERVE */),
  });
  assert.throws(
    () => openWith(nothing.w, "empty", { readOnly: false, private: false, namespace: "local" }),
    (e: unknown) => e instanceof ShmError && e.code === "EINVAL" && /not committed/.test(e.message),
  );
  assert.deepEqual(nothing.names().slice(-2), ["UnmapViewOfFile", "CloseHandle"]);
});

test("Windows layouts read by offset: SECTION_BASIC_INFORMATION and MEMORY_BASIC_INFORMATION", () => {
  assert.deepEqual(WIN.SECTION_BASIC_INFORMATION, { class: 0, bytes: 24, attributesOffset: 8, maximumSizeOffset: 16 });
  assert.deepEqual(WIN.MEMORY_BASIC_INFORMATION, { bytes: 48, regionSizeOffset: 24, stateOffset: 32 });
  assert.deepEqual(decodeSectionInfo(sectionInfo(0x1800000, 103680)), { attributes: 0x1800000, maximumSize: 103680 });
  assert.deepEqual(decodeRegion(regionInfo(12288, WIN.MEM_COMMIT)), { size: 12288, committed: true });
  assert.deepEqual(decodeRegion(regionInfo(12288, 0x2000)), { size: 12288, committed: false });
  assert.deepEqual([WIN.SEC_IMAGE, WIN.SEC_RESERVE, WIN.SEC_COMMIT, WIN.MEM_COMMIT], [
    0x1000000,
    0x4000000,
    0x8000000,
    0x1000,
  ]);
  // Without NtQuerySection, the view's size; a plain SEC_COMMIT section, its own size.
  assert.deepEqual(usableSize(undefined, { size: 8192, committed: true }), { size: 8192 });
  assert.deepEqual(usableSize({ attributes: WIN.SEC_COMMIT, maximumSize: 8192 }, { size: 8192, committed: true }), {
    size: 8192,
  });
});

test("Windows binds only its own tables: kernel32, ntdll, advapi32, never libc", () => {
  assert.equal(posixConstants("win32"), undefined, "no POSIX table exists for win32");
  for (const table of [KERNEL32, NTDLL, ADVAPI32]) {
    for (const key of Object.keys(table)) assert.ok(!LINUX_ONLY.has(key), key);
  }
  // NtQuerySection is required: Bun cannot dlopen a table of optional symbols only.
  assert.equal((NTDLL.NtQuerySection as { optional?: boolean }).optional, undefined);
  // And Linux-only libc prototypes are kept off every other POSIX system too.
  assert.ok(!("memfd_create" in boundSymbols(posixConstants("darwin")!, "arm64")));
});

test("Windows errors: security descriptor and address errors map to errno codes", () => {
  const cases: [number, string][] = [[1305, "EINVAL"], [1336, "EINVAL"], [1337, "EINVAL"], [1450, "ENOMEM"], [
    487,
    "EFAULT",
  ], [33, "EBUSY"]];
  for (const [error, code] of cases) assert.equal(win32Code(error), code, `Win32 error ${error}`);
});

test("Windows wake objects: two semaphores per word, named from the mapping's full name and the word's offset", () => {
  // FNV-1a 64 test vectors (ASCII: one UTF-16 unit per byte).
  assert.equal(fnv1a64(""), "cbf29ce484222325");
  assert.equal(fnv1a64("a"), "af63dc4c8601ec8c");
  const names = wakeObjectNames("frames", "local", 0x40);
  assert.deepEqual(names, {
    wake: `shmem_wait_${fnv1a64("Local\\frames")}_40_w`,
    count: `shmem_wait_${fnv1a64("Local\\frames")}_40_n`,
  });
  // Another word, namespace or mapping: other objects; the same ones in every process.
  assert.notEqual(wakeObjectNames("frames", "local", 0x44).wake, names.wake);
  assert.notEqual(wakeObjectNames("frames", "global", 0x40).wake, names.wake);
  assert.notEqual(wakeObjectNames("frames2", "local", 0x40).wake, names.wake);
  assert.deepEqual(wakeObjectNames("frames", "local", 0x40), names);
  // Short and legal whatever the mapping's name: no '\' after the prefix, within MAX_PATH.
  const longest = wakeObjectNames("x".repeat(253), "global", 2 ** 47 - 4);
  for (const n of [longest.wake, longest.count]) {
    assert.ok(!n.includes("\\"), n);
    assert.ok(objectName(n, "global").length - 1 <= WINDOWS_NAME_RULES.maxUnits, n);
  }
});

test("Windows wait symbols: semaphores, events and WaitForMultipleObjects, the async one pointer-only", () => {
  for (const key of ["CreateSemaphoreW", "OpenSemaphoreW", "ReleaseSemaphore", "WaitForSingleObject", "CreateEventW"]) {
    assert.ok(key in KERNEL32, key);
  }
  const async = KERNEL32.WaitForMultipleObjectsAsync;
  assert.equal(async.name, "WaitForMultipleObjects");
  assert.equal(async.nonblocking, true);
  assert.deepEqual(async.parameters, KERNEL32.WaitForMultipleObjects.parameters);
  assert.ok(!(async.parameters as readonly string[]).includes("buffer"));
  assert.deepEqual(NTDLL.NtQuerySemaphore.parameters, ["pointer", "i32", "buffer", "u32", "pointer"]);
  // One control event and 63 words a call (MAXIMUM_WAIT_OBJECTS).
  assert.equal(WIN.MAXIMUM_WAIT_OBJECTS, 64);
  assert.equal(WORDS_PER_CALL, 63);
  assert.deepEqual([WIN.WAIT_OBJECT_0, WIN.WAIT_TIMEOUT, WIN.WAIT_FAILED], [0, 0x102, 0xffffffff]);
  assert.equal(WIN.SEMAPHORE_BASIC_INFORMATION.bytes, 8);
});

test("Windows wait design: kernel by default, polling selectable; only on win32", () => {
  assert.equal(windowsWaitBackend("linux"), undefined);
  assert.equal(windowsWaitBackend("darwin"), undefined);
  const backend = windowsWaitBackend("win32");
  assert.equal(typeof backend?.wait, "function");
  assert.throws(() => setWindowsWaitDesign("futex" as never), TypeError);
  setWindowsWaitDesign("polling");
  setWindowsWaitDesign("kernel");
});
