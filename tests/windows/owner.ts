// Windows child (run under Wine by tests/windows/suite.ts): a Mutex whose
// owner dies holding it is recovered by a locker in another runtime.
// The locker creates the segment (a Windows mapping lives while a handle is
// open, so the locker must hold one) and waits; the holder opens it, locks,
// says so, and ends itself abruptly with TerminateProcess (no cleanup runs);
// the locker's lock() must then return "owner-died". Each prints `RESULT <json>`.
// The holder's exit code is the third argument (default 9): 259 is STILL_ACTIVE,
// which an exit-code check would take for a live process.
// Usage: owner.ts locker <name> | owner.ts holder <name> [exit code]
import { createRequire } from "node:module";
import { Mutex, Segment, ShmError } from "../../mod.ts";
import { ffi } from "../../ffi/mod.ts";

const [role, name, exitArg] = process.argv.slice(2);
const exitCode = Number(exitArg ?? 9);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const result = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);

/** TerminateProcess(GetCurrentProcess(), exitCode) through this runtime's own FFI: the abrupt end a crash gives. */
async function terminateSelf(): Promise<never> {
  const g = globalThis as {
    Deno?: { dlopen: (p: string, s: unknown) => { symbols: Record<string, (...a: unknown[]) => unknown> } };
  };
  const defs = {
    GetCurrentProcess: { parameters: [], result: "pointer" },
    TerminateProcess: { parameters: ["pointer", "u32"], result: "i32" },
  };
  if (g.Deno) {
    const k = g.Deno.dlopen("kernel32.dll", defs).symbols;
    k.TerminateProcess(k.GetCurrentProcess(), exitCode);
  } else if ("Bun" in globalThis) {
    const specifier = "bun:ffi";
    const { dlopen } = await import(specifier);
    const k = dlopen("kernel32.dll", {
      GetCurrentProcess: { args: [], returns: "ptr" },
      TerminateProcess: { args: ["ptr", "u32"], returns: "i32" },
    }).symbols;
    k.TerminateProcess(k.GetCurrentProcess(), exitCode);
  } else {
    const koffi = createRequire(import.meta.url)("koffi");
    const lib = koffi.load("kernel32.dll");
    const current = lib.func("void *GetCurrentProcess()");
    const terminate = lib.func("int TerminateProcess(void *h, uint32_t code)");
    terminate(current(), exitCode);
  }
  throw new Error("TerminateProcess returned");
}

if (role === "locker") {
  const seg = Segment.create(name, { size: 4096 });
  const flags = seg.region(0, 16).array(Int32Array);
  // A new segment is zero-filled, and zeroed memory is an unlocked Mutex: no init()
  // here, since the holder may already have opened the segment and locked it.
  const lock = new Mutex(seg.region(64, Mutex.BYTES));
  const start = Date.now();
  while (Atomics.load(flags, 0) !== 1 && Date.now() - start < 60_000) await sleep(10);
  const holderLocked = Atomics.load(flags, 0) === 1;
  // Keep a handle to the holder, as a parent process would on Windows: its
  // process object then outlives it, so the probe must tell a dead process
  // from a live one by the object, not by its absence (or its exit code).
  const kernel = ffi.open(["kernel32.dll"], {
    // HANDLE OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId);
    OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
    // BOOL CloseHandle(HANDLE hObject);
    CloseHandle: { parameters: ["pointer"], result: "i32" },
  }).symbols;
  const holderHandle = kernel.OpenProcess(
    0x00101000, /* SYNCHRONIZE | QUERY_LIMITED */
    0,
    Atomics.load(flags, 1),
  ) as bigint;
  const busyWhileHeld = holderLocked ? lock.tryLock() : "n/a";
  const outcome = lock.lock(30_000);
  const relocked = outcome !== "timed-out" && (lock.unlock(), lock.tryLock() === "locked");
  if (relocked) lock.unlock();
  seg.close();
  if (holderHandle !== 0n) kernel.CloseHandle(holderHandle);
  result({ holderLocked, heldHolderHandle: holderHandle !== 0n, busyWhileHeld, outcome, relocked });
} else if (role === "holder") {
  let seg: Segment | undefined;
  for (let i = 0; i < 600 && !seg; i++) {
    try {
      seg = Segment.open(name);
    } catch (error) {
      if (!(error instanceof ShmError && error.code === "ENOENT")) throw error;
      await sleep(20);
    }
  }
  if (!seg) throw new Error(`no segment '${name}'`);
  const lock = new Mutex(seg.region(64, Mutex.BYTES));
  if (lock.lock(30_000) !== "locked") throw new Error("the holder could not lock");
  const flags = seg.region(0, 16).array(Int32Array);
  Atomics.store(flags, 1, (globalThis as { process?: { pid?: number } }).process?.pid ?? 0);
  Atomics.store(flags, 0, 1);
  await sleep(300); // let the locker see the lock held
  await terminateSelf();
}
