/**
 * Calls a native function on another thread: the engine behind
 * {@link SymbolDef.nonblocking} in every adapter.
 *
 * A small pool of `node:worker_threads` workers (Deno, Bun and Node all
 * provide the module) each load the library through this runtime's own
 * adapter and make the call synchronously. Workers are unref'd, so a pending
 * call never keeps the process alive; idle ones wait for the next call, and
 * more than {@link MAX_IDLE} idle ones are ended.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { NativeFunction, NativeType, SymbolDef } from "./types.ts";

/** How many idle workers stay ready for the next call. */
const MAX_IDLE = 4;

/** What the worker gets: where the function is and how to call it. */
export interface OffThreadJob {
  readonly path: string;
  readonly name: string;
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
  readonly args: readonly unknown[];
}

/** What the worker answers. */
export type OffThreadReply = { readonly value: unknown } | { readonly error: string };

const idle: Worker[] = [];

function spawn(): Worker {
  const worker = new Worker(new URL("./offthread_worker.ts", import.meta.url));
  worker.unref();
  return worker;
}

function call(job: OffThreadJob): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = idle.pop() ?? spawn();
    const onMessage = (reply: OffThreadReply) => {
      worker.off("error", onError);
      if (idle.length < MAX_IDLE) idle.push(worker);
      else void worker.terminate();
      if ("error" in reply) reject(new Error(reply.error));
      else resolve(reply.value);
    };
    const onError = (error: unknown) => {
      worker.off("message", onMessage);
      reject(error);
    };
    worker.once("message", onMessage);
    worker.once("error", onError);
    // Listening refs a worker's port again in some runtimes: unref after.
    worker.unref();
    worker.postMessage(job);
  });
}

/**
 * The asynchronous variant of the function `key` of `def`, in the library at
 * `path`: same arguments, returns a Promise of the result.
 */
export function offThread(path: string, key: string, def: SymbolDef): NativeFunction {
  if (def.parameters.includes("buffer")) {
    throw new TypeError(
      `Nonblocking symbol '${key}' cannot take a "buffer" parameter (arguments are copied to a worker): use "pointer"`,
    );
  }
  const name = def.name ?? key;
  const { parameters, result } = def;
  return (...args: unknown[]) => call({ path, name, parameters, result, args });
}
