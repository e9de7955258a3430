/**
 * The Deno adapter: `Deno.dlopen` and `Deno.UnsafePointerView`.
 *
 * @module
 */
import type { Ffi, Library, NativeFunction, NativeType, Symbols, SymbolTable } from "./types.ts";
import { checkNonblocking } from "./offthread.ts";
import { wrapPointers } from "./pointers.ts";

const TYPES: Record<NativeType, Deno.NativeType | Deno.NativeResultType> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "usize",
  pointer: "pointer",
  buffer: "buffer",
};

function toPointer(address: bigint | number): Deno.PointerValue {
  return Deno.UnsafePointer.create(BigInt(address));
}

function fromPointer(pointer: Deno.PointerValue): bigint {
  return pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer));
}

/** Wraps a raw Deno symbol so that pointers cross as bigints. */
const wrap = (fn: NativeFunction, parameters: readonly NativeType[], result: NativeType) =>
  wrapPointers(fn, parameters, result, { toPointer, fromPointer });

function permissionHint(error: unknown): Error {
  const name = (error as Error)?.name;
  if (name === "NotCapable" || name === "PermissionDenied") {
    return new Error(
      "shmem needs FFI access: run Deno with --allow-ffi (for example `deno run --allow-ffi main.ts`)",
      { cause: error },
    );
  }
  return error as Error;
}

/** Deno's {@link Ffi}. */
export const denoFfi: Ffi = {
  runtime: "deno",
  // Getters: this module is imported in every runtime, and only Deno has `Deno`.
  get os() {
    return Deno.build.os === "windows" ? "win32" : Deno.build.os;
  },
  get arch() {
    return Deno.build.arch === "x86_64" ? "x64" : "arm64";
  },
  maxViewBytes: Number.MAX_SAFE_INTEGER,
  maxNonblocking: 6,
  open<T extends SymbolTable>(candidates: readonly string[], table: T) {
    const defs: Record<string, Deno.ForeignFunction> = {};
    for (const [key, def] of Object.entries(table)) {
      if (def.nonblocking) checkNonblocking(key, def);
      defs[key] = {
        name: def.name ?? key,
        parameters: def.parameters.map((t) => TYPES[t] as Deno.NativeType),
        result: TYPES[def.result] as Deno.NativeResultType,
        optional: def.optional ?? false,
        // Deno runs it on a thread of its blocking pool and returns a Promise.
        nonblocking: def.nonblocking ?? false,
      };
    }
    const failures: string[] = [];
    for (const path of candidates) {
      let lib: Deno.DynamicLibrary<Record<string, Deno.ForeignFunction>>;
      try {
        lib = Deno.dlopen(path, defs);
      } catch (error) {
        const hinted = permissionHint(error);
        if (hinted !== error) throw hinted;
        failures.push(`${path}: ${(error as Error).message}`);
        continue;
      }
      const symbols: Record<string, NativeFunction | undefined> = {};
      for (const [key, def] of Object.entries(table)) {
        const fn = lib.symbols[key] as NativeFunction | null | undefined;
        symbols[key] = fn ? wrap(fn, def.parameters, def.result) : undefined;
      }
      return { path, symbols: symbols as Symbols<T> } satisfies Library<T>;
    }
    throw new Error(`Cannot load a native library: ${failures.join("; ")}`);
  },
  view(address: bigint, length: number): ArrayBuffer {
    const pointer = toPointer(address);
    if (pointer === null) throw new RangeError("Cannot view a NULL pointer");
    return Deno.UnsafePointerView.getArrayBuffer(pointer, length);
  },
  readI32(address: bigint): number {
    const pointer = toPointer(address);
    if (pointer === null) throw new RangeError("Cannot read a NULL pointer");
    return new Deno.UnsafePointerView(pointer).getInt32();
  },
  get pid(): number {
    return Deno.pid;
  },
  unrefTimeout(task: () => void, ms: number): void {
    const id = setTimeout(task, ms);
    Deno.unrefTimer(id);
  },
};
