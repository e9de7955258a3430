// Worker: clears the publish-subscribe control lock of service <name> (bytes 128..143) whenever someone holds it,
// as a hostile peer's writes would, until the shared stop flag is set.
import { parentPort, workerData } from "node:worker_threads";
import { Segment } from "../../mod.ts";

const { name, stop } = workerData as { name: string; stop: Int32Array };
const seg = Segment.open(name);
const lock = seg.region(128, 16).array(Int32Array);
parentPort!.postMessage("ready");
let cleared = 0;
while (Atomics.load(stop, 0) === 0) {
  if (Atomics.load(lock, 0) !== 0 || Atomics.load(lock, 1) !== 0) {
    for (let i = 0; i < 4; i++) Atomics.store(lock, i, 0);
    cleared++;
  }
}
seg.close();
parentPort!.postMessage(cleared);
