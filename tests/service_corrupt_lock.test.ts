// A publish-subscribe service whose control lock word another process overwrote: the calls that take the lock
// report the corruption as ERR_SERVICE_INVALID, never as a Mutex error of the library's own lock. (The fuzzer's
// scribbler found it, seeds 3 and 20261202 in Bun: the word overwritten while loan() held the lock made its unlock
// throw ERR_MUTEX_NOT_OWNER.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { Mutex, Publisher, Segment, ShmError, Subscriber } from "../mod.ts";
import { child, testName } from "./helpers.ts";

/** The control lock: 64 bytes into the layout, which starts after the 64-byte service header. */
const LOCK_AT = 128;

const invalid = (e: unknown) =>
  e instanceof ShmError && e.code === "ERR_SERVICE_INVALID" && /control lock/.test(e.message);

test("pubsub: a control lock held by someone else for too long reads as a corrupt service", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 64 });
  using raw = Segment.open(name);
  const lock = new Mutex(raw.region(LOCK_AT, Mutex.BYTES));
  assert.equal(lock.tryLock(), "locked");
  try {
    assert.throws(() => Subscriber.open(name, { timeoutMs: 0 }), invalid); // after the lock's 1 s
  } finally {
    lock.unlock();
  }
  Subscriber.open(name).close(); // the lock free again: the service works
  void pub;
});

// Since layout version 2 the publish step runs without the lock; joins and leaves (changes of membership) take it.
test("pubsub: a control lock cleared while a join or leave holds it reads as a corrupt service, not ERR_MUTEX_NOT_LOCKED", async () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 64 });
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(`file://${child("lock_clearer.ts")}`), { workerData: { name, stop } });
  const said = () => new Promise<unknown>((resolve) => worker.once("message", resolve));
  await said();
  let seen: unknown;
  const deadline = Date.now() + 10_000;
  try {
    while (seen === undefined && Date.now() < deadline) {
      for (let i = 0; i < 1000 && seen === undefined; i++) {
        try {
          Subscriber.open(name, { timeoutMs: 0 }).close();
        } catch (error) {
          seen = error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    const cleared = said();
    Atomics.store(stop, 0, 1);
    await cleared;
    await worker.terminate();
  }
  assert.ok(seen !== undefined, "the lock was cleared under a join or leave within 10 s");
  assert.ok(invalid(seen), String(seen));
  void pub;
});
