/**
 * Work to do when the process ends: normally, by `exit()`, or by SIGINT or
 * SIGTERM, in each runtime's own way. (SIGKILL and crashes run nothing: the
 * kernel-kept holder locks cover those.)
 *
 * - Deno: the `unload` event, and `Deno.addSignalListener`; after the work a
 *   signal ends the process with the conventional code (130 for SIGINT, 143
 *   for SIGTERM).
 * - Node and Bun: `process.on("exit")`, and signal listeners. A listener
 *   changes the default behaviour of a signal, so when no other listener is
 *   installed this one does the work, removes itself and sends the signal
 *   again: the process then dies by the signal as it would have. When the
 *   program has its own listener, that listener decides; if it exits, the
 *   `exit` hook does the work.
 *
 * @module
 */

import { ffi } from "./mod.ts";
import process from "node:process";
import { isMainThread } from "node:worker_threads";

const SIGNALS = [["SIGINT", 2], ["SIGTERM", 15]] as const;

const tasks = new Set<() => void>();
let installed = false;

function runAll(): void {
  runList(tasks);
}

function runList(tasks: Set<() => void>): void {
  const list = [...tasks];
  tasks.clear();
  for (const task of list) {
    try {
      task();
    } catch {
      // Exit work is best effort: one failure must not stop the others.
    }
  }
}

interface DenoLike {
  addSignalListener(signal: string, handler: () => void): void;
  exit(code: number): never;
}

interface ProcessLike {
  pid: number;
  on(event: string, handler: (...args: unknown[]) => void): void;
  removeListener(event: string, handler: (...args: unknown[]) => void): void;
  listenerCount(event: string): number;
  kill(pid: number, signal: string): void;
  exit(code: number): never;
}

/** Set while this module raises an uncaught error again after the exit work: that one ends the process. */
let raisingAgain = false;

/**
 * Deno's uncaught `error`/`unhandledrejection`: the process ends only when no
 * listener prevents the default, and listeners registered after this one run
 * after it. So this one takes over the default (prevents it), notes whether a
 * later listener prevents it too, and in a macrotask either leaves everything
 * running (handled) or does the exit work and raises the same error again, so
 * that Deno reports it and exits as it would have.
 */
function onUncaught(event: Event, raise: (error: unknown) => void): void {
  const error = (event as Event & { error?: unknown; reason?: unknown }).error ??
    (event as Event & { reason?: unknown }).reason;
  if (raisingAgain) {
    raisingAgain = false;
    return; // the second time round: the default ends the process
  }
  if (event.defaultPrevented) return; // an earlier listener handles it
  const prevent = event.preventDefault.bind(event);
  let handled = false;
  Object.defineProperty(event, "preventDefault", {
    configurable: true,
    value: () => {
      handled = true;
      prevent();
    },
  });
  prevent();
  setTimeout(() => {
    if (handled) return;
    runAll();
    raisingAgain = true;
    raise(error);
  });
}

function install(): void {
  installed = true;
  if (ffi.runtime === "deno") {
    const deno = (globalThis as unknown as { Deno: DenoLike }).Deno;
    globalThis.addEventListener("unload", runAll);
    // An uncaught error ends Deno without "unload"; these events come first.
    globalThis.addEventListener("error", (event) =>
      onUncaught(event, (e) => {
        throw e;
      }));
    globalThis.addEventListener("unhandledrejection", (event) => onUncaught(event, (e) => void Promise.reject(e)));
    for (const [signal, number] of SIGNALS) {
      deno.addSignalListener(signal, () => {
        runAll();
        deno.exit(128 + number);
      });
    }
    return;
  }
  const proc = (globalThis as unknown as { process: ProcessLike }).process;
  proc.on("exit", runAll);
  for (const [signal, number] of SIGNALS) {
    const handler = () => {
      if (proc.listenerCount(signal) > 1) return; // the program handles it
      runAll();
      proc.removeListener(signal, handler);
      proc.kill(proc.pid, signal);
      // Should the signal not end the process (a runtime that keeps it), exit conventionally.
      setTimeout(() => proc.exit(128 + number), 200);
    };
    proc.on(signal, handler);
  }
}

/**
 * Runs `task` once when the process ends normally or by SIGINT/SIGTERM.
 * Returns a function that cancels it.
 */
export function atExit(task: () => void): () => void {
  if (!installed) install();
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

const threadTasks = new Set<() => void>();
let threadInstalled = false;

/**
 * Runs `task` once when this worker thread ends: by its own end, by
 * `process.exit()` in it, or by `worker.terminate()` (Node, and Deno's
 * `node:worker_threads`, emit `exit` in the worker then, while its
 * FinalizationRegistry callbacks never run again). In the main thread it
 * does nothing: the process's end releases what the thread held. Returns a
 * function that cancels it.
 */
export function atThreadExit(task: () => void): () => void {
  if (isMainThread) return () => {};
  if (!threadInstalled) {
    threadInstalled = true;
    process.on("exit", () => runList(threadTasks));
  }
  threadTasks.add(task);
  return () => {
    threadTasks.delete(task);
  };
}
