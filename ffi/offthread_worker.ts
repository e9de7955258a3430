/**
 * The worker side of {@link offThread}: loads each requested function once
 * through this runtime's adapter and calls it synchronously.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { ffi } from "./mod.ts";
import type { NativeFunction } from "./types.ts";
import type { OffThreadJob, OffThreadReply } from "./offthread.ts";

const loaded = new Map<string, NativeFunction>();

function bind(job: OffThreadJob): NativeFunction {
  const key = `${job.path}\0${job.name}\0${job.parameters.join(",")}\0${job.result}`;
  let fn = loaded.get(key);
  if (fn === undefined) {
    const def = { name: job.name, parameters: job.parameters, result: job.result };
    fn = ffi.open([job.path], { fn: def }).symbols.fn;
    loaded.set(key, fn);
  }
  return fn;
}

parentPort!.on("message", (job: OffThreadJob) => {
  let reply: OffThreadReply;
  try {
    reply = { value: bind(job)(...job.args) };
  } catch (error) {
    reply = { error: String((error as Error)?.message ?? error) };
  }
  parentPort!.postMessage(reply);
});
