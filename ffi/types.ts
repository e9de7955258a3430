/**
 * The one internal interface every runtime adapter implements.
 *
 * Library code never branches on the runtime: it describes native functions
 * as data ({@link SymbolTable}), asks {@link Ffi.open} for them, and gets the
 * same JavaScript values back in Deno, Bun and Node.
 *
 * Value conventions, the same in every adapter:
 * - `"pointer"` parameters take a `bigint` address (`0n` is NULL) and
 *   `"pointer"` results come back as a `bigint` (NULL is `0n`).
 * - `"buffer"` parameters take a typed array; the callee gets the address of
 *   its first element (C strings are passed this way, NUL-terminated).
 * - `"i64"`, `"u64"` and `"usize"` take a `number` or a `bigint` and return a
 *   `number | bigint`; `"i32"`/`"u32"` take and return integers.
 *
 * @module
 */

/** The native types a symbol's parameters and result may have. */
export type NativeType =
  | "void"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "usize"
  | "pointer"
  | "buffer";

/** One native function, described as data. */
export interface SymbolDef {
  /** The C parameter types, in order. */
  readonly parameters: readonly NativeType[];
  /** The C result type. */
  readonly result: NativeType;
  /** When true, a library that lacks the symbol still loads; the function is then `undefined`. */
  readonly optional?: boolean;
  /** The exported name when it differs from the table's key. */
  readonly name?: string;
  /**
   * When true, the function runs on another thread and returns a Promise of
   * its result, so a blocking call (a futex wait) keeps the event loop
   * running. Deno: its own `nonblocking` FFI call (a thread of Deno's
   * blocking pool, no worker, no extra permission). Node: koffi's `async`
   * call on libuv's thread pool (4 threads by default, shared with `fs`,
   * `dns` and `crypto`). Bun: a worker thread started from source text.
   * Rules:
   * - parameters must be numbers, bigints and `"pointer"`s, never
   *   `"buffer"`, and the result a number; any memory a pointer names must
   *   stay valid until the Promise settles;
   * - errno is the other thread's: it cannot be read afterwards;
   * - each pending call holds a thread: keep at most
   *   {@link Ffi.maxNonblocking} pending at once, and each bounded by a
   *   timeout (Node and Deno wait for a running call before they exit).
   */
  readonly nonblocking?: boolean;
}

/** A library's functions, keyed by the name library code uses. */
export type SymbolTable = Readonly<Record<string, SymbolDef>>;

/** A callable native function: arguments and result follow the value conventions above. */
// deno-lint-ignore no-explicit-any
export type NativeFunction = (...args: any[]) => any;

/** The JavaScript value a native result type comes back as (see the value conventions above). */
export type NativeResult<T extends NativeType> = T extends "void" ? void
  : T extends "i32" | "u32" ? number
  : T extends "pointer" ? bigint
  : number | bigint;

/** The function a {@link SymbolDef} binds to: its result typed, a Promise of it when nonblocking. */
export type BoundFunction<D extends SymbolDef> = (
  // deno-lint-ignore no-explicit-any
  ...args: any[]
) => D["nonblocking"] extends true ? Promise<NativeResult<D["result"]>> : NativeResult<D["result"]>;

/** The loaded functions of a {@link SymbolTable}, each with its result type; optional ones may be missing. */
export type Symbols<T extends SymbolTable> = {
  [K in keyof T]: T[K]["optional"] extends true ? BoundFunction<T[K]> | undefined
    : BoundFunction<T[K]>;
};

/** A loaded native library. */
export interface Library<T extends SymbolTable> {
  /** The file name that was loaded (the first candidate that opened). */
  readonly path: string;
  /** Its functions. */
  readonly symbols: Symbols<T>;
}

/** The runtimes with an adapter. */
export type RuntimeName = "deno" | "bun" | "node";

/** Operating systems as the runtimes name them (`process.platform` spelling). */
export type OsName = string;

/** What every runtime adapter provides. */
export interface Ffi {
  /** Which runtime this is. */
  readonly runtime: RuntimeName;
  /** The operating system (`process.platform` spelling: `linux`, `darwin`, `win32`, ...). */
  readonly os: OsName;
  /** The processor architecture (`x64`, `arm64`, ...). */
  readonly arch: string;
  /**
   * The largest ArrayBuffer the runtime can make over foreign memory, in bytes
   * (Bun: 2^32; Deno and Node: far larger).
   */
  readonly maxViewBytes: number;
  /**
   * Loads the first library in `candidates` that opens and binds `symbols`.
   * Throws an Error naming every candidate when none opens or a required
   * symbol is missing.
   */
  open<T extends SymbolTable>(
    candidates: readonly string[],
    symbols: T,
  ): Library<T>;
  /**
   * How many {@link SymbolDef.nonblocking} calls may be pending at once
   * without starving the runtime or costing more than a few threads: Deno 6
   * (one thread of its blocking pool each), Node half of libuv's pool (2 of
   * the default 4), Bun 3 (a worker costs about two threads).
   */
  readonly maxNonblocking: number;
  /** A zero-copy ArrayBuffer over `length` bytes at `address`. */
  view(address: bigint, length: number): ArrayBuffer;
  /** Reads a 32-bit signed integer at `address` (errno, for instance). */
  readI32(address: bigint): number;
  /** This process's id. */
  readonly pid: number;
  /** Runs `task` after `ms` milliseconds on a timer that does not keep the process alive. */
  unrefTimeout(task: () => void, ms: number): void;
}
