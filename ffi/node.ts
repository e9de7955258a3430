/**
 * The Node adapter: koffi (`koffi.load`, `koffi.view`).
 *
 * koffi is loaded with `createRequire` so that other runtimes never try to
 * resolve it. Node 22 or newer is needed (`ArrayBuffer.prototype.transfer`).
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Ffi, Library, NativeFunction, NativeType, Symbols, SymbolTable } from "./types.ts";
import { checkNonblocking } from "./offthread.ts";
import { wrapPointers } from "./pointers.ts";

/** The part of koffi this adapter uses. */
interface Koffi {
  load(path: string): {
    func(name: string, result: string, parameters: string[]): NativeFunction;
  };
  view(pointer: bigint, length: number): ArrayBuffer;
  decode(pointer: bigint, type: string): number;
}

const TYPES: Record<NativeType, string> = {
  void: "void",
  i32: "int32_t",
  u32: "uint32_t",
  i64: "int64_t",
  u64: "uint64_t",
  usize: "size_t",
  pointer: "void *",
  buffer: "void *",
};

function loadKoffi(): Koffi {
  try {
    return createRequire(import.meta.url)("koffi") as Koffi;
  } catch (error) {
    throw new Error(
      "shmem on Node needs the koffi package: run `npm install koffi`",
      { cause: error },
    );
  }
}

let koffi: Koffi | undefined;

/** koffi 3 pointers are already bigints; only NULL results need care. */
const wrap = (fn: NativeFunction, result: NativeType) =>
  wrapPointers(fn, [], result, {
    toPointer: (address: bigint) => address,
    fromPointer: (pointer: unknown) => pointer === null ? 0n : BigInt(pointer as bigint),
  });

/** koffi's `fn.async(...args, callback)` (a libuv pool thread) as a Promise. */
function asyncCall(fn: NativeFunction): NativeFunction {
  const run = (fn as unknown as { async: NativeFunction }).async;
  return (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      run(...args, (error: unknown, value: unknown) => error ? reject(error) : resolve(value));
    });
}

/** libuv's thread pool size (koffi's async calls run there). */
function poolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/** Node's {@link Ffi}, through koffi. */
export const nodeFfi: Ffi = {
  runtime: "node",
  os: process.platform,
  arch: process.arch,
  maxViewBytes: Number.MAX_SAFE_INTEGER,
  // Half of libuv's pool, so fs, dns and crypto keep the other half.
  get maxNonblocking(): number {
    return Math.max(1, Math.min(6, Math.floor(poolSize() / 2)));
  },
  open<T extends SymbolTable>(candidates: readonly string[], table: T) {
    if (typeof ArrayBuffer.prototype.transfer !== "function") {
      throw new Error(
        `shmem needs Node 22 or newer (ArrayBuffer.prototype.transfer); this is Node ${process.version}`,
      );
    }
    koffi ??= loadKoffi();
    const failures: string[] = [];
    for (const path of candidates) {
      let lib: ReturnType<Koffi["load"]>;
      try {
        lib = koffi.load(path);
      } catch (error) {
        failures.push(`${path}: ${(error as Error).message}`);
        continue;
      }
      const symbols: Record<string, NativeFunction | undefined> = {};
      try {
        for (const [key, def] of Object.entries(table)) {
          if (def.nonblocking) checkNonblocking(key, def);
          let fn: NativeFunction | undefined;
          try {
            fn = lib.func(
              def.name ?? key,
              TYPES[def.result],
              def.parameters.map((t) => TYPES[t]),
            );
          } catch (error) {
            if (!def.optional) throw error;
          }
          symbols[key] = fn ? (def.nonblocking ? asyncCall(fn) : wrap(fn, def.result)) : undefined;
        }
      } catch (error) {
        failures.push(`${path}: ${(error as Error).message}`);
        continue;
      }
      return { path, symbols: symbols as Symbols<T> } satisfies Library<T>;
    }
    throw new Error(`Cannot load a native library: ${failures.join("; ")}`);
  },
  view(address: bigint, length: number): ArrayBuffer {
    if (address === 0n) throw new RangeError("Cannot view a NULL pointer");
    return koffi!.view(address, length);
  },
  readI32(address: bigint): number {
    return koffi!.decode(address, "int32_t");
  },
  get pid(): number {
    return process.pid;
  },
  unrefTimeout(task: () => void, ms: number): void {
    setTimeout(task, ms).unref();
  },
};
