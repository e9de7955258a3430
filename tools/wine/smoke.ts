/**
 * Windows smoke test of named shared memory through each runtime's own FFI
 * (Deno.dlopen, bun:ffi, koffi on Node): kernel32 CreateFileMappingW,
 * OpenFileMappingW, MapViewOfFile, UnmapViewOfFile. No library code.
 *
 * Modes (run from the project root, e.g. through tools/wine/run.sh):
 *   smoke.ts self                    one process: create, GetLastError on an
 *                                    existing and a missing name, two views
 *                                    of one mapping, transfer(0) before unmap
 *   smoke.ts write <tag> <flag dir>  creates Local\shmem-smoke-<tag>, fills
 *                                    it, writes <dir>/<tag>.ready, and stays
 *                                    alive (holding the only handle) until
 *                                    <dir>/<tag>.done appears, then checks
 *                                    the reader's reply
 *   smoke.ts read <tag> <flag dir>   opens the mapping by name, checks the
 *                                    writer's bytes, replies, writes .done
 *   smoke.ts gone <tag>              expects the name to be gone (after the
 *                                    writer closed the last handle)
 *   smoke.ts crash                   unmaps WITHOUT detaching, then reads the
 *                                    old view: must crash (non-zero exit), and
 *                                    fast, since the prefix has no debugger
 * Each mode prints lines "  ok ..." / "  FAIL ..." and a last line
 * "SMOKE {json}", and exits 1 when a check failed.
 *
 * Erasable TypeScript only, so that Deno, Bun and Node >= 22 run it as is.
 */
import { createRequire } from "node:module";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";

const SIZE = 1 << 20; // 1 MiB
const PAGE_READWRITE = 0x04;
const FILE_MAP_ALL_ACCESS = 0xf001f;
const ERROR_FILE_NOT_FOUND = 2;
const ERROR_ALREADY_EXISTS = 183;
const MAGIC_WRITER = 0x53484d31; // "SHM1"
const MAGIC_READER = 0x41434b21; // "ACK!"
const READER_ADDS = 100_000;
const PATTERN_AT = 4096; // writer's pattern: PATTERN_AT .. SIZE/2
const REPLY_AT = SIZE / 2; // reader's pattern: SIZE/2 .. SIZE

// Header, as Int32 indexes: [0] writer magic, [1] writer pid, [2] reader
// magic, [3] reader pid, [4] counter the reader adds to with Atomics.
// Bytes 32..63 writer's runtime name, 64..95 reader's runtime name.

type Handle = unknown; // a HANDLE or view address, as the runtime's FFI gives it

/** The few kernel32 functions the test needs, behind one shape. */
interface Kernel32 {
  runtime: string;
  version: string;
  /** CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, size, name) */
  create(name: string, size: number): Handle | null;
  /** OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, name) */
  open(name: string): Handle | null;
  /** MapViewOfFile(handle, FILE_MAP_ALL_ACCESS, 0, 0, size) */
  map(handle: Handle, size: number): Handle | null;
  unmap(view: Handle): boolean;
  close(handle: Handle): boolean;
  lastError(): number;
  pid(): number;
  /** A zero-copy ArrayBuffer over a mapped view. */
  buffer(view: Handle, size: number): ArrayBuffer;
  address(view: Handle): bigint;
}

/** UTF-16 with a terminating NUL, for LPCWSTR parameters. */
function wide(text: string): Uint16Array {
  const out = new Uint16Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const isNull = (p: unknown): boolean => p === null || p === undefined || p === 0 || p === 0n;

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

function denoKernel32(): Kernel32 {
  const D = g.Deno;
  const lib = D.dlopen("kernel32.dll", {
    // HANDLE CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES sa,
    //   DWORD flProtect, DWORD sizeHigh, DWORD sizeLow, LPCWSTR lpName)
    CreateFileMappingW: {
      parameters: ["isize", "pointer", "u32", "u32", "u32", "buffer"],
      result: "pointer",
    },
    // HANDLE OpenFileMappingW(DWORD access, BOOL inherit, LPCWSTR lpName)
    OpenFileMappingW: { parameters: ["u32", "i32", "buffer"], result: "pointer" },
    // LPVOID MapViewOfFile(HANDLE h, DWORD access, DWORD offHigh,
    //   DWORD offLow, SIZE_T bytes)
    MapViewOfFile: {
      parameters: ["pointer", "u32", "u32", "u32", "usize"],
      result: "pointer",
    },
    UnmapViewOfFile: { parameters: ["pointer"], result: "i32" }, // BOOL (LPCVOID)
    CloseHandle: { parameters: ["pointer"], result: "i32" }, // BOOL (HANDLE)
    GetLastError: { parameters: [], result: "u32" }, // DWORD (void)
    GetCurrentProcessId: { parameters: [], result: "u32" }, // DWORD (void)
  });
  const f = lib.symbols;
  return {
    runtime: "deno",
    version: D.version.deno,
    create: (name, size) => f.CreateFileMappingW(-1, null, PAGE_READWRITE, 0, size, wide(name)),
    open: (name) => f.OpenFileMappingW(FILE_MAP_ALL_ACCESS, 0, wide(name)),
    map: (h, size) => f.MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, size),
    unmap: (v) => f.UnmapViewOfFile(v) !== 0,
    close: (h) => f.CloseHandle(h) !== 0,
    lastError: () => f.GetLastError(),
    pid: () => f.GetCurrentProcessId(),
    buffer: (v, size) => D.UnsafePointerView.getArrayBuffer(v, size),
    address: (v) => BigInt(D.UnsafePointer.value(v)),
  };
}

async function bunKernel32(): Promise<Kernel32> {
  const specifier = "bun:ffi"; // through a variable: other runtimes never resolve it
  const ffi = await import(specifier);
  const lib = ffi.dlopen("kernel32.dll", {
    CreateFileMappingW: { args: ["i64", "ptr", "u32", "u32", "u32", "ptr"], returns: "ptr" },
    OpenFileMappingW: { args: ["u32", "i32", "ptr"], returns: "ptr" },
    MapViewOfFile: { args: ["ptr", "u32", "u32", "u32", "u64"], returns: "ptr" },
    UnmapViewOfFile: { args: ["ptr"], returns: "i32" },
    CloseHandle: { args: ["ptr"], returns: "i32" },
    GetLastError: { args: [], returns: "u32" },
    GetCurrentProcessId: { args: [], returns: "u32" },
  });
  const f = lib.symbols;
  return {
    runtime: "bun",
    version: g.Bun.version,
    create: (name, size) => f.CreateFileMappingW(-1, null, PAGE_READWRITE, 0, size, wide(name)),
    open: (name) => f.OpenFileMappingW(FILE_MAP_ALL_ACCESS, 0, wide(name)),
    map: (h, size) => f.MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, size),
    unmap: (v) => f.UnmapViewOfFile(v) !== 0,
    close: (h) => f.CloseHandle(h) !== 0,
    lastError: () => f.GetLastError(),
    pid: () => f.GetCurrentProcessId(),
    buffer: (v, size) => ffi.toArrayBuffer(v, 0, size),
    address: (v) => BigInt(v as number),
  };
}

function nodeKernel32(): Kernel32 {
  const koffi = createRequire(import.meta.url)("koffi");
  const lib = koffi.load("kernel32.dll");
  // koffi keeps the thread's last error across its own calls, so a
  // GetLastError call right after another call sees that call's error.
  const CreateFileMappingW = lib.func(
    "void *CreateFileMappingW(intptr_t hFile, void *sa, uint32_t prot, uint32_t hi, uint32_t lo, str16 name)",
  );
  const OpenFileMappingW = lib.func("void *OpenFileMappingW(uint32_t access, int inherit, str16 name)");
  const MapViewOfFile = lib.func(
    "void *MapViewOfFile(void *h, uint32_t access, uint32_t hi, uint32_t lo, size_t bytes)",
  );
  const UnmapViewOfFile = lib.func("int UnmapViewOfFile(void *view)");
  const CloseHandle = lib.func("int CloseHandle(void *h)");
  const GetLastError = lib.func("uint32_t GetLastError()");
  const GetCurrentProcessId = lib.func("uint32_t GetCurrentProcessId()");
  return {
    runtime: "node",
    version: process.versions.node + " koffi " + koffi.version,
    create: (name, size) => CreateFileMappingW(-1, null, PAGE_READWRITE, 0, size, name),
    open: (name) => OpenFileMappingW(FILE_MAP_ALL_ACCESS, 0, name),
    map: (h, size) => MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, size),
    unmap: (v) => UnmapViewOfFile(v) !== 0,
    close: (h) => CloseHandle(h) !== 0,
    lastError: () => GetLastError(),
    pid: () => GetCurrentProcessId(),
    buffer: (v, size) => koffi.view(v, size),
    address: (v) => BigInt(koffi.address(v)),
  };
}

async function loadKernel32(): Promise<Kernel32> {
  if (g.Deno) return denoKernel32();
  if (g.Bun) return await bunKernel32();
  return nodeKernel32();
}

// ------------------------------------------------------------------ checks

const report: Record<string, unknown> = {};
let failures = 0;
const t0 = performance.now();

function check(label: string, ok: boolean, detail = ""): boolean {
  if (!ok) failures++;
  console.log(`  ${ok ? "ok  " : "FAIL"} ${label}${detail ? ` (${detail})` : ""}`);
  return ok;
}

function ms(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}

function putAscii(bytes: Uint8Array, at: number, text: string, max: number): void {
  for (let i = 0; i < max; i++) bytes[at + i] = i < text.length ? text.charCodeAt(i) & 0x7f : 0;
}

function getAscii(bytes: Uint8Array, at: number, max: number): string {
  let s = "";
  for (let i = 0; i < max && bytes[at + i] !== 0; i++) s += String.fromCharCode(bytes[at + i]);
  return s;
}

function seedOf(tag: string): number {
  let h = 0;
  for (let i = 0; i < tag.length; i++) h = (h * 31 + tag.charCodeAt(i)) & 0xff;
  return h;
}

function fill(bytes: Uint8Array, from: number, to: number, seed: number): void {
  for (let i = from; i < to; i++) bytes[i] = (i * 7 + seed) & 0xff;
}

/** Index of the first byte that differs from the pattern, or -1. */
function firstMismatch(bytes: Uint8Array, from: number, to: number, seed: number): number {
  for (let i = from; i < to; i++) if (bytes[i] !== ((i * 7 + seed) & 0xff)) return i;
  return -1;
}

/**
 * Detaches the view's ArrayBuffer with transfer(0), unmaps, then touches the
 * old typed arrays: they must read as empty instead of faulting.
 */
function detachThenUnmap(k: Kernel32, view: Handle, buf: ArrayBuffer, bytes: Uint8Array): void {
  const dv = new DataView(buf);
  // deno-lint-ignore no-explicit-any
  const ab = buf as any;
  const r: Record<string, unknown> = { hasTransfer: typeof ab.transfer === "function" };
  if (typeof ab.transfer === "function") {
    const t = performance.now();
    const moved: ArrayBuffer = ab.transfer(0);
    r.ms = ms(t);
    r.newLength = moved.byteLength;
    r.detached = ab.detached;
    r.oldByteLength = buf.byteLength;
    r.typedArrayLength = bytes.length;
    r.readAfterDetach = String(bytes[0]);
    try {
      dv.getUint8(0);
      r.dataView = "no throw";
    } catch (e) {
      r.dataView = (e as Error).name;
    }
  }
  r.unmapped = k.unmap(view);
  // Touch the old views after UnmapViewOfFile: a crash ends the process here.
  bytes[0] = 1;
  r.readAfterUnmap = String(bytes[0]);
  report.transfer0 = r;
  check(
    "transfer(0) detaches the view before UnmapViewOfFile",
    r.hasTransfer === true && r.oldByteLength === 0 && r.typedArrayLength === 0 &&
      r.readAfterDetach === "undefined" && r.readAfterUnmap === "undefined" && r.unmapped === true,
    JSON.stringify(r),
  );
}

const sleep = (t: number) => new Promise((ok) => setTimeout(ok, t));

async function waitFor(path: string, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!existsSync(path)) {
    if (performance.now() > until) return false;
    await sleep(5);
  }
  return true;
}

// -------------------------------------------------------------------- modes

function selfTest(k: Kernel32): void {
  const name = `Local\\shmem-smoke-self-${k.runtime}-${k.pid()}`;
  let t = performance.now();
  const h = k.create(name, SIZE);
  const createErr = k.lastError();
  report.createMs = ms(t);
  if (!check("CreateFileMappingW on a new name", !isNull(h), isNull(h) ? `GetLastError ${createErr}` : "")) return;
  check("GetLastError after creating a new name is 0", createErr === 0, String(createErr));

  const h2 = k.create(name, SIZE);
  const existsErr = k.lastError();
  report.lastErrorExisting = existsErr;
  check("CreateFileMappingW on an existing name returns a handle", !isNull(h2));
  check("... and GetLastError 183 (ERROR_ALREADY_EXISTS)", existsErr === ERROR_ALREADY_EXISTS, String(existsErr));
  if (!isNull(h2)) k.close(h2);

  const missing = k.open(`Local\\shmem-smoke-missing-${k.pid()}`);
  const missingErr = k.lastError();
  report.lastErrorMissing = missingErr;
  check("OpenFileMappingW on a missing name returns NULL", isNull(missing));
  check("... and GetLastError 2 (ERROR_FILE_NOT_FOUND)", missingErr === ERROR_FILE_NOT_FOUND, String(missingErr));

  t = performance.now();
  const view = k.map(h, SIZE);
  report.mapMs = ms(t);
  if (!check("MapViewOfFile", !isNull(view), isNull(view) ? `GetLastError ${k.lastError()}` : "")) return;
  const buf = k.buffer(view, SIZE);
  const bytes = new Uint8Array(buf);
  check("zero-copy buffer has the mapping's size", buf.byteLength === SIZE, String(buf.byteLength));
  check("a new pagefile mapping reads as zeros", bytes[0] === 0 && bytes[SIZE - 1] === 0);
  t = performance.now();
  fill(bytes, 0, SIZE, 42);
  report.fill1MiBMs = ms(t);

  // A second handle and view of the same name alias the same pages.
  const h3 = k.open(name);
  check("OpenFileMappingW on our own name", !isNull(h3), isNull(h3) ? `GetLastError ${k.lastError()}` : "");
  const view2 = k.map(h3, SIZE);
  check("second view at another address", !isNull(view2) && k.address(view2) !== k.address(view));
  const bytes2 = new Uint8Array(k.buffer(view2, SIZE));
  check("second view sees the first view's bytes", firstMismatch(bytes2, 0, SIZE, 42) === -1);
  bytes2[123] = 0xab;
  check("a write through one view shows in the other", bytes[123] === 0xab);
  k.unmap(view2);
  k.close(h3);

  const i32 = new Int32Array(buf, 0, 16);
  Atomics.store(i32, 4, 0);
  for (let i = 0; i < 1000; i++) Atomics.add(i32, 4, 1);
  check("Atomics.add on the view", Atomics.load(i32, 4) === 1000);

  detachThenUnmap(k, view, buf, bytes);
  check("CloseHandle", k.close(h));
  const gone = k.open(name);
  const goneErr = k.lastError();
  check("the name is gone once the last handle is closed", isNull(gone) && goneErr === 2, `GetLastError ${goneErr}`);
}

async function writer(k: Kernel32, tag: string, dir: string): Promise<void> {
  const name = `Local\\shmem-smoke-${tag}`;
  mkdirSync(dir, { recursive: true });
  const seed = seedOf(tag);
  const h = k.create(name, SIZE);
  const err = k.lastError();
  if (!check(`CreateFileMappingW ${name}`, !isNull(h), isNull(h) ? `GetLastError ${err}` : "")) return;
  check("GetLastError after creating a new name is 0", err === 0, String(err));
  const again = k.create(name, SIZE);
  const againErr = k.lastError();
  report.lastErrorExisting = againErr;
  check(
    "creating it again gives GetLastError 183",
    !isNull(again) && againErr === ERROR_ALREADY_EXISTS,
    String(againErr),
  );
  if (!isNull(again)) k.close(again);
  const view = k.map(h, SIZE);
  if (!check("MapViewOfFile", !isNull(view), isNull(view) ? `GetLastError ${k.lastError()}` : "")) return;
  const buf = k.buffer(view, SIZE);
  const bytes = new Uint8Array(buf);
  const i32 = new Int32Array(buf, 0, 16);
  fill(bytes, PATTERN_AT, REPLY_AT, seed);
  putAscii(bytes, 32, `${k.runtime} ${k.version}`, 32);
  Atomics.store(i32, 1, k.pid());
  Atomics.store(i32, 4, 0);
  Atomics.store(i32, 0, MAGIC_WRITER);
  writeFileSync(resolve(dir, `${tag}.ready`), `${k.runtime} ${k.pid()}\n`);
  const t = performance.now();
  const done = await waitFor(resolve(dir, `${tag}.done`), 120_000);
  report.waitedForReaderMs = ms(t);
  if (check("the reader finished (.done flag)", done)) {
    const reader = getAscii(bytes, 64, 32);
    report.reader = reader;
    check(
      "reader's magic in the header",
      Atomics.load(i32, 2) === MAGIC_READER,
      `from ${reader}, pid ${Atomics.load(i32, 3)}`,
    );
    check("reader's bytes arrived", firstMismatch(bytes, REPLY_AT, SIZE, seed ^ 0x5a) === -1);
    check(
      `reader's ${READER_ADDS} Atomics.add arrived`,
      Atomics.load(i32, 4) === READER_ADDS,
      String(Atomics.load(i32, 4)),
    );
  }
  detachThenUnmap(k, view, buf, bytes);
  check("CloseHandle (the last handle: the mapping goes away)", k.close(h));
}

function reader(k: Kernel32, tag: string, dir: string): void {
  const name = `Local\\shmem-smoke-${tag}`;
  const seed = seedOf(tag);
  const missing = k.open(`${name}-missing`);
  const missingErr = k.lastError();
  report.lastErrorMissing = missingErr;
  check(
    "OpenFileMappingW on a missing name gives NULL, GetLastError 2",
    isNull(missing) && missingErr === 2,
    String(missingErr),
  );
  let t = performance.now();
  const h = k.open(name);
  report.openMs = ms(t);
  if (!check(`OpenFileMappingW ${name}`, !isNull(h), isNull(h) ? `GetLastError ${k.lastError()}` : "")) return;
  const view = k.map(h, SIZE);
  if (!check("MapViewOfFile", !isNull(view), isNull(view) ? `GetLastError ${k.lastError()}` : "")) return;
  const buf = k.buffer(view, SIZE);
  const bytes = new Uint8Array(buf);
  const i32 = new Int32Array(buf, 0, 16);
  const writerName = getAscii(bytes, 32, 32);
  report.writer = writerName;
  check(
    "writer's magic in the header",
    Atomics.load(i32, 0) === MAGIC_WRITER,
    `from ${writerName}, pid ${Atomics.load(i32, 1)}`,
  );
  t = performance.now();
  const bad = firstMismatch(bytes, PATTERN_AT, REPLY_AT, seed);
  report.verifyHalfMiBMs = ms(t);
  check("writer's bytes read back", bad === -1, bad === -1 ? "" : `first mismatch at ${bad}`);
  fill(bytes, REPLY_AT, SIZE, seed ^ 0x5a);
  for (let i = 0; i < READER_ADDS; i++) Atomics.add(i32, 4, 1);
  putAscii(bytes, 64, `${k.runtime} ${k.version}`, 32);
  Atomics.store(i32, 3, k.pid());
  Atomics.store(i32, 2, MAGIC_READER);
  detachThenUnmap(k, view, buf, bytes);
  k.close(h);
  writeFileSync(resolve(dir, `${tag}.done`), `${k.runtime} ${k.pid()}\n`);
}

function goneTest(k: Kernel32, tag: string): void {
  const h = k.open(`Local\\shmem-smoke-${tag}`);
  const err = k.lastError();
  check("after the writer exits the name is gone (NULL, GetLastError 2)", isNull(h) && err === 2, String(err));
  if (!isNull(h)) k.close(h);
}

function crashTest(k: Kernel32): void {
  const h = k.create(`Local\\shmem-smoke-crash-${k.pid()}`, SIZE);
  const view = k.map(h, SIZE);
  const bytes = new Uint8Array(k.buffer(view, SIZE));
  bytes[0] = 7;
  k.unmap(view);
  console.log("  reading an unmapped view now: this process should crash");
  const value = bytes[0]; // access violation expected
  check("reading an unmapped, not detached view crashes", false, `read ${value}`);
}

// --------------------------------------------------------------------- main

const [mode = "self", tag = "", dirArg = ""] = process.argv.slice(2);
if (process.platform !== "win32") {
  console.error(
    `smoke.ts tests kernel32 and runs on Windows only (this is ${process.platform}); see tools/wine/run.sh`,
  );
  process.exit(2);
}
const k = await loadKernel32();
report.runtime = k.runtime;
report.version = k.version;
report.mode = mode;
report.pid = k.pid();
report.startupMs = Math.round(t0); // time from process start to this script
console.log(`${k.runtime} ${k.version}: ${mode}${tag ? " " + tag : ""} (pid ${k.pid()})`);
if (mode === "self") {
  selfTest(k);
} else if ((mode === "write" || mode === "read") && tag && dirArg) {
  // Bun under Wine cannot create a file from a relative path: resolve first.
  const dir = resolve(dirArg);
  await (mode === "write" ? writer(k, tag, dir) : reader(k, tag, dir));
} else if (mode === "gone" && tag) {
  goneTest(k, tag);
} else if (mode === "crash") {
  crashTest(k);
} else {
  check(`usage: smoke.ts self | write <tag> <dir> | read <tag> <dir> | gone <tag> | crash`, false, mode);
}
report.scriptMs = ms(t0);
report.failures = failures;
console.log("SMOKE " + JSON.stringify(report));
process.exit(failures ? 1 : 0);
