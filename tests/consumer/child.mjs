// The other process of app.mjs: opens the segment by name, wakes the parent,
// sends a message, then holds the mutex until the parent asks for it.
import { Channel, Mutex, notify, Segment, wait } from "shmem";

const seg = Segment.open(process.argv[2]);
const words = seg.region(0, 64).array(Int32Array);
const mutex = new Mutex(seg.region(64, Mutex.BYTES));
const tx = Channel.open(seg.region(4096));

Atomics.store(words, 0, 1);
notify(words, 0);
if (!tx.send(new TextEncoder().encode("hello from the child"), 20_000)) throw new Error("send timed out");

if (mutex.lock(20_000) !== "locked") throw new Error("child could not lock");
Atomics.store(words, 1, 1);
notify(words, 1);
while (Atomics.load(words, 2) === 0) {
  if (wait(words, 2, 0, 20_000) === "timed-out") throw new Error("parent never asked for the mutex");
}
// Let the parent's lockAsync really wait before unlocking.
await new Promise((resolve) => setTimeout(resolve, 50));
mutex.unlock();
tx.close();
seg.close();
