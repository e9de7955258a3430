/**
 * The rules every adapter applies to {@link SymbolDef.nonblocking} symbols,
 * and the worker pool that Bun (which has no off-thread FFI call of its own)
 * runs them on.
 *
 * The workers are started from source text (`new Worker(code, { eval: true })`),
 * never from a file next to this module, so that they start the same way when
 * shmem is loaded from a clone, from `node_modules` as built JavaScript, or
 * from an https URL. Workers are unref'd: a pending call never keeps the
 * process alive by itself.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { SymbolDef } from "./types.ts";

/**
 * Throws a TypeError unless `def` may be nonblocking: arguments must be
 * numbers, bigints or `"pointer"`s (never `"buffer"`: the call runs after
 * the JavaScript call has returned) and the result a number.
 */
export function checkNonblocking(key: string, def: SymbolDef): void {
  if (def.parameters.includes("buffer")) {
    throw new TypeError(
      `Nonblocking symbol '${key}' cannot take a "buffer" parameter (the call runs later, on another thread): use "pointer"`,
    );
  }
  if (def.result === "pointer" || def.result === "buffer") {
    throw new TypeError(`Nonblocking symbol '${key}' must return a number, not a "${def.result}"`);
  }
}

/** What a pool worker answers. */
type Reply = { readonly value: unknown } | { readonly error: string };

/**
 * A pool of eval'd workers that each run `source`: the source listens on
 * `parentPort` for one job at a time and answers `{ value }` or `{ error }`.
 */
export class WorkerPool {
  readonly #source: string;
  readonly #maxIdle: number;
  readonly #idle: Worker[] = [];

  /** A pool running `source`, keeping at most `maxIdle` idle workers. */
  constructor(source: string, maxIdle: number) {
    this.#source = source;
    this.#maxIdle = maxIdle;
  }

  /** Posts `job` to an idle (or new) worker and resolves with its answer. */
  call(job: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.#idle.pop() ?? new Worker(this.#source, { eval: true });
      } catch (error) {
        reject(error);
        return;
      }
      const onMessage = (reply: Reply) => {
        worker.off("error", onError);
        if (this.#idle.length < this.#maxIdle) this.#idle.push(worker);
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
}
