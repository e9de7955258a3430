// Child for the huge-timeout tests: blocks with the given timeout until the parent wakes it; prints JSON.
// Layout of the test segment: Int32 words 0..15 (word 1: "ready" flag), a Mutex at byte 64, a Channel from byte 1024.
// Usage: options.ts <name> <wait|recv|lock> <timeoutMs>   (the timeout as Number() reads it: "1e22", "1.79e308")
import { Channel, Mutex, Segment, wait } from "../../mod.ts";

const [name, op, timeout] = process.argv.slice(2);
const seg = Segment.open(name);
const words = seg.region(0, 64).array(Int32Array);
const ms = Number(timeout);
let result: unknown;
try {
  if (op === "wait") {
    Atomics.store(words, 1, 1);
    result = wait(words, 0, 0, ms);
  } else if (op === "recv") {
    const ch = Channel.open(seg.region(1024));
    Atomics.store(words, 1, 1);
    result = ch.recv(ms)?.length ?? null;
  } else if (op === "lock") {
    const mutex = new Mutex(seg.region(64, Mutex.BYTES));
    Atomics.store(words, 1, 1);
    result = mutex.lock(ms);
    if (result !== "timed-out") mutex.unlock();
  } else {
    throw new Error(`unknown op ${op}`);
  }
} catch (error) {
  result = `${(error as Error).name}: ${(error as Error).message}`;
}
seg.close();
console.log(JSON.stringify({ result }));
