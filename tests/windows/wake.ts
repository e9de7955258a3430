// Windows child (run under Wine by tests/windows/wake_suite.ts): kernel
// wake-ups between two Windows processes. The waiter creates the segment and
// sleeps; the notifier opens it and wakes it with `notify` alone, without
// changing the words, which a polling waiter would never see. Each prints
// `RESULT <json>`.
// Usage: wake.ts waiter <name> <asyncWaits> | wake.ts notifier <name> <asyncWaits>
//
// Words: 0 the blocking wait's word, 1 the waiter's phase, 2 the notifier's
// total, 3 the word of the "polling notifier" case, 16.. the async waits' words,
// 1024.. the words of MANY waits (more than the kernel groups hold: the rest
// are polled), which the notifier changes before it notifies.
import { notify, Segment, ShmError, wait, waitAsync } from "../../mod.ts";
import { setWindowsWaitDesign } from "../../windows/wait.ts";

const [role, name, countText] = process.argv.slice(2);
const count = Number(countText);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const result = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);
const PHASE = 1, TOTAL = 2, POLLED = 3, FIRST = 16;
const SYNC = 1, ASYNC = 2, POLLING = 3, MANY_PHASE = 4, DONE = 5;
const MANY = 1000, MANY_FIRST = 1024;

/** Waits (polling, no wake-up needed) until `check` holds or 60 s pass. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

if (role === "waiter") {
  // No `using`: Node 22 lacks it.
  const seg = Segment.create(name, { size: 8192 });
  const w = seg.region(0, 8192).array(Int32Array);
  Atomics.store(w, PHASE, SYNC);
  const syncResult = wait(w, 0, 0, 60_000);
  const syncWord = Atomics.load(w, 0);

  Atomics.store(w, PHASE, ASYNC);
  const pending: Promise<string>[] = [];
  for (let i = 0; i < count; i++) pending.push(waitAsync(w, FIRST + i, 0, 60_000));
  const asyncResults: Record<string, number> = {};
  for (const r of await Promise.all(pending)) asyncResults[r] = (asyncResults[r] ?? 0) + 1;

  // A notifier that only changes the word (as the polling design does) is seen too.
  Atomics.store(w, PHASE, POLLING);
  const polledResult = await waitAsync(w, POLLED, 0, 60_000);
  const many: Record<string, number> = {};
  const manyPending = Array.from({ length: MANY }, (_, i) => waitAsync(w, MANY_FIRST + i, 0, 60_000));
  Atomics.store(w, PHASE, MANY_PHASE); // after: each waitAsync checked its word when called
  for (const r of await Promise.all(manyPending)) many[r] = (many[r] ?? 0) + 1;
  Atomics.store(w, PHASE, DONE);
  await until(() => Atomics.load(w, TOTAL) !== 0, "the notifier's total");

  // Timeouts: never early, in the blocking and the async wait.
  let t = performance.now();
  const syncTimeout = wait(w, 0, 0, 30);
  const syncElapsed = performance.now() - t;
  t = performance.now();
  const asyncTimeout = await waitAsync(w, 0, 0, 30);
  const asyncElapsed = performance.now() - t;
  // Closing the memory rejects pending waits.
  const other = Segment.create(`${name}c`, { size: 4096 });
  const ow = other.region(0, 4096).array(Int32Array);
  const closing = Promise.all([0, 1, 2].map((i) => waitAsync(ow, i, 0, 60_000).catch((e) => e)));
  await sleep(20);
  other.close();
  const closed = (await closing).map((e) => e instanceof ShmError ? e.code : String(e));
  result({
    syncResult,
    syncWord,
    asyncResults,
    polledResult,
    many,
    notifierTotal: Atomics.load(w, TOTAL),
    syncTimeout,
    syncNotEarly: syncElapsed >= 30,
    asyncTimeout,
    asyncNotEarly: asyncElapsed >= 30,
    closed,
  });
  seg.close();
} else {
  let seg: Segment | undefined;
  const deadline = Date.now() + 60_000;
  while (seg === undefined) {
    try {
      seg = Segment.open(name);
    } catch (error) {
      if (!(error instanceof ShmError && error.code === "ENOENT") || Date.now() > deadline) throw error;
      await sleep(5);
    }
  }
  const w = seg.region(0, 8192).array(Int32Array);
  // Until a waiter is counted, notify wakes nobody and says so.
  await until(() => Atomics.load(w, PHASE) >= SYNC, "the waiter");
  let syncWoken = 0;
  await until(() => (syncWoken = notify(w, 0)) > 0, "a blocking waiter to wake");
  await until(() => Atomics.load(w, PHASE) >= ASYNC, "the async waits");
  const asyncWoken: number[] = [];
  for (let i = 0; i < count; i++) {
    let n = 0;
    await until(() => (n = notify(w, FIRST + i, 1)) > 0, `async wait ${i}`);
    asyncWoken.push(n);
  }
  const again = notify(w, FIRST, 1); // already woken: nobody left
  await until(() => Atomics.load(w, PHASE) >= POLLING, "the polled case");
  setWindowsWaitDesign("polling");
  await sleep(20);
  Atomics.store(w, POLLED, 1);
  const pollingNotify = notify(w, POLLED);
  setWindowsWaitDesign("kernel");
  await until(() => Atomics.load(w, PHASE) >= MANY_PHASE, "the many waits");
  for (let i = 0; i < MANY; i++) (Atomics.store(w, MANY_FIRST + i, 1), notify(w, MANY_FIRST + i));
  await until(() => Atomics.load(w, PHASE) >= DONE, "the waiter's last phase");
  const total = syncWoken + asyncWoken.reduce((a, b) => a + b, 0);
  Atomics.store(w, TOTAL, total);
  seg.close();
  result({ syncWoken, asyncWokenOnce: asyncWoken.every((n) => n === 1), total, again, pollingNotify });
}
