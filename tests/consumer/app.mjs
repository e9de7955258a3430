// A user's program, run from a fresh project that installed the packed
// package: it imports "shmem" by name and talks to a child process (the same
// runtime) through a segment, waitAsync, a Channel and a Mutex.
// Usage: app.mjs <command to start the child...>   (prints "ok" at the end)
import { spawn } from "node:child_process";
import { Channel, Mutex, notify, Segment, uniqueName, waitAsync } from "shmem";

const name = uniqueName("cons_");
const seg = Segment.create(name, { size: 1 << 16, unlinkOnExit: true });
const words = seg.region(0, 64).array(Int32Array);
const mutex = Mutex.init(seg.region(64, Mutex.BYTES));
const rx = Channel.create(seg.region(4096));

try {
  // 1. The child opens the segment and wakes this process's waitAsync.
  const woken = waitAsync(words, 0, 0, 20_000);
  const [exe, ...pre] = process.argv.slice(2);
  const child = spawn(exe, [...pre, new URL("./child.mjs", import.meta.url).pathname, name], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const first = await woken;
  if (first !== "ok" && Atomics.load(words, 0) !== 1) throw new Error(`waitAsync gave ${first}`);

  // 2. A message from the child, received without blocking the event loop.
  const message = await rx.recvAsync(20_000);
  if (message === null || new TextDecoder().decode(message) !== "hello from the child") {
    throw new Error(`recvAsync gave ${message && new TextDecoder().decode(message)}`);
  }

  // 3. The child holds the mutex; lockAsync waits until it lets go.
  while (Atomics.load(words, 1) === 0) await waitAsync(words, 1, 0, 20_000);
  if (mutex.tryLock() !== "busy") throw new Error("the child should hold the mutex");
  const locked = mutex.lockAsync(20_000);
  Atomics.store(words, 2, 1);
  notify(words, 2);
  const got = await locked;
  if (got !== "locked") throw new Error(`lockAsync gave ${got}`);
  mutex.unlock();

  const end = await exited;
  if (end.code !== 0) throw new Error(`child ended with ${JSON.stringify(end)}`);
  console.log("ok");
} finally {
  rx.close();
  seg.close();
  Segment.unlink(name);
}
