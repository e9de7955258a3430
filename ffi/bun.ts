/**
 * The Bun adapter: `bun:ffi` (`dlopen`, `toArrayBuffer`, `read`).
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Ffi, Library, NativeFunction, NativeType, SymbolDef, Symbols, SymbolTable } from "./types.ts";
import { checkNonblocking, WorkerPool } from "./offthread.ts";
import { wrapPointers } from "./pointers.ts";
import type { PointerCodec } from "./pointers.ts";

/** The part of `bun:ffi` this adapter uses (Bun's own types are not a dependency). */
interface BunFfiModule {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, NativeFunction>; close(): void };
  toArrayBuffer(ptr: number, byteOffset: number, length: number): ArrayBuffer;
  read: { i32(ptr: number, byteOffset?: number): number };
}

const TYPES: Record<NativeType, string> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "u64",
  pointer: "ptr",
  buffer: "ptr",
};

// Loaded on first use with a synchronous require (Bun resolves `bun:ffi`
// through it), so that importing this module costs nothing in other runtimes.
let loaded: BunFfiModule | undefined;
const bunFfiModule = (): BunFfiModule => loaded ??= createRequire(import.meta.url)("bun:ffi") as BunFfiModule;

/** Bun pointers are numbers (user-space addresses fit in 2^53), or bigints above that. */
const codec: PointerCodec<number | bigint> = {
  toPointer: (address) => Number(address),
  fromPointer: (pointer) => pointer === null ? 0n : BigInt(pointer),
};

const wrap = (fn: NativeFunction, parameters: readonly NativeType[], result: NativeType) =>
  wrapPointers(fn, parameters, result, codec);

/**
 * The worker that runs Bun's nonblocking calls, as source text (no file next
 * to this module): binds each function once through `bun:ffi`, calls it
 * synchronously, answers its value.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { dlopen } = require("bun:ffi");
const bound = new Map();
parentPort.on("message", (job) => {
  let reply;
  try {
    const key = job.path + "\\0" + job.name + "\\0" + job.args.join(",") + "\\0" + job.returns;
    let fn = bound.get(key);
    if (fn === undefined) {
      fn = dlopen(job.path, { [job.name]: { args: job.args, returns: job.returns } }).symbols[job.name];
      bound.set(key, fn);
    }
    reply = { value: fn(...job.argv) };
  } catch (error) {
    reply = { error: String((error && error.message) || error) };
  }
  parentPort.postMessage(reply);
});
`;

/** Bun's nonblocking calls: a few workers, as many as may be pending at once. */
const MAX_NONBLOCKING = 3;
let pool: WorkerPool | undefined;

function offThread(path: string, key: string, def: SymbolDef): NativeFunction {
  checkNonblocking(key, def);
  const name = def.name ?? key;
  const args = def.parameters.map((t) => TYPES[t]);
  const returns = TYPES[def.result];
  const pointers = def.parameters.flatMap((t, i) => t === "pointer" ? [i] : []);
  return (...argv: unknown[]) => {
    for (const i of pointers) argv[i] = Number(argv[i]);
    pool ??= new WorkerPool(WORKER_SOURCE, MAX_NONBLOCKING);
    return pool.call({ path, name, args, returns, argv });
  };
}

/** Bun's {@link Ffi}. */
export const bunFfi: Ffi = {
  runtime: "bun",
  os: process.platform,
  arch: process.arch,
  // toArrayBuffer fails above 4 GiB ("RangeError: Out of memory").
  maxViewBytes: 2 ** 32,
  maxNonblocking: MAX_NONBLOCKING,
  open<T extends SymbolTable>(candidates: readonly string[], table: T) {
    const failures: string[] = [];
    for (const path of candidates) {
      const symbols: Record<string, NativeFunction | undefined> = {};
      const defs: Record<string, { args: string[]; returns: string }> = {};
      // Bun binds each exported name once per dlopen: the first required use
      // of a name goes in the main dlopen; other declarations of the same name
      // (another signature of a variadic function) are bound alone below.
      const mainKey: Record<string, string> = {};
      let lib: ReturnType<BunFfiModule["dlopen"]> | undefined;
      try {
        for (const [key, def] of Object.entries(table)) {
          if (!def.optional && !def.nonblocking && !((def.name ?? key) in mainKey)) {
            mainKey[def.name ?? key] = key;
            defs[def.name ?? key] = {
              args: def.parameters.map((t) => TYPES[t]),
              returns: TYPES[def.result],
            };
          }
        }
        lib = bunFfiModule().dlopen(path, defs);
      } catch (error) {
        failures.push(`${path}: ${(error as Error).message}`);
        continue;
      }
      for (const [key, def] of Object.entries(table)) {
        if (def.nonblocking) {
          symbols[key] = offThread(path, key, def);
          continue;
        }
        const exported = def.name ?? key;
        let fn: NativeFunction | undefined = lib.symbols[exported];
        if (mainKey[exported] !== key) {
          // Optional symbols are bound alone (Bun fails a whole dlopen on one
          // missing symbol), and so are second signatures of one name.
          try {
            fn = bunFfiModule().dlopen(path, {
              [exported]: {
                args: def.parameters.map((t) => TYPES[t]),
                returns: TYPES[def.result],
              },
            }).symbols[exported];
          } catch (error) {
            if (!def.optional) throw error;
            fn = undefined;
          }
        }
        symbols[key] = fn ? wrap(fn, def.parameters, def.result) : undefined;
      }
      return { path, symbols: symbols as Symbols<T> } satisfies Library<T>;
    }
    throw new Error(`Cannot load a native library: ${failures.join("; ")}`);
  },
  view(address: bigint, length: number): ArrayBuffer {
    if (address === 0n) throw new RangeError("Cannot view a NULL pointer");
    return bunFfiModule().toArrayBuffer(Number(address), 0, length);
  },
  readI32(address: bigint): number {
    return bunFfiModule().read.i32(Number(address), 0);
  },
  get pid(): number {
    return process.pid;
  },
  unrefTimeout(task: () => void, ms: number): void {
    setTimeout(task, ms).unref();
  },
};
