// Fuzz worker thread: opens a segment by name, makes a few random calls on it,
// and ends with it closed or left open (the thread's end must release it).
import { parentPort, workerData } from "node:worker_threads";
import { Segment, ShmError } from "../../mod.ts";
import { Rng } from "./rng.ts";

const { name, close, seed } = workerData as { name: string; close: boolean; seed: number };
const rng = new Rng(seed);
let result = "ok";
try {
  const seg = Segment.open(name);
  for (let i = 0; i < 20; i++) {
    const offset = rng.int(0, seg.size);
    try {
      const words = seg.region(offset - (offset % 8), 8).array(Int32Array);
      Atomics.add(words, 0, 1);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
  }
  if (close) seg.close();
} catch (error) {
  // ENOENT: unlinked meanwhile; EACCES: a service created with a mode that keeps even its owner out.
  if (
    !(error instanceof ShmError && (error.code === "ENOENT" || error.code === "EACCES")) &&
    !(error instanceof RangeError)
  ) {
    result = String((error as Error)?.stack ?? error);
  }
}
parentPort!.postMessage(result);
