// Child for the wait/notify and Mutex tests; prints JSON.
// Layout of the test segment: Int32 words 0..15 (word 0: futex or counter,
// word 1: "ready" flag), the Mutex at byte 64, a plain counter at byte 128.
// Usage: sync.ts <name> <op> [args...]
//   add <n>                 Atomics.add(word 0, 1) n times
//   wait <timeout>          set ready, wait(word 0, 0, timeout)
//   notify                  notify(word 0) until it wakes someone
//   waitasync               waitAsync(word 0, 0) while a timer ticks
//   pending                 leave a 60 s waitAsync pending, then close the segment
//   mutex-inc <n> <sync|async>  n locked increments of the plain counter
//   mutex-hold              lock, set ready, then hang until killed
//   mutex-lock              set ready (word 2), lock, report, unlock
import { Mutex, notify, Segment, wait, waitAsync } from "../../mod.ts";

const [name, op, a1, a2] = process.argv.slice(2);
const seg = Segment.open(name);
const words = seg.region(0, 64).array(Int32Array);
const mutex = new Mutex(seg.region(64, Mutex.BYTES));
const counter = seg.region(128, 4).array(Int32Array);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (v: unknown) => console.log(JSON.stringify(v));

switch (op) {
  case "add":
    for (let i = 0; i < Number(a1); i++) Atomics.add(words, 0, 1);
    out({ done: true });
    break;
  case "wait": {
    Atomics.store(words, 1, 1);
    const t0 = performance.now();
    const result = wait(words, 0, 0, a1 === "inf" ? undefined : Number(a1));
    out({ result, elapsed: performance.now() - t0 });
    break;
  }
  case "notify": {
    let woken = 0;
    for (let i = 0; i < 20_000 && woken === 0; i++) {
      woken = notify(words, 0);
      if (woken === 0) await sleep(1);
    }
    out({ woken });
    break;
  }
  case "waitasync": {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
      if (ticks === 10) Atomics.store(words, 1, 1); // the loop ran while waiting
    }, 2);
    const result = await waitAsync(words, 0, 0, 30_000);
    clearInterval(timer);
    out({ result, ticks });
    break;
  }
  case "pending":
    waitAsync(words, 0, 0, 60_000).then(
      (result) => out({ result }),
      (e) => out({ rejected: (e as { code?: string }).code }),
    );
    out({ pending: true });
    setTimeout(() => out({ alive: true }), 300); // the pending wait keeps the process alive...
    await sleep(500);
    break; // ...until the segment is closed below, which ends it

  case "mutex-inc": {
    const alive = setInterval(() => {}, 1000);
    for (let i = 0; i < Number(a1); i++) {
      const r = a2 === "async" ? await mutex.lockAsync() : mutex.lock();
      if (r !== "locked") throw new Error(`lock returned ${r}`);
      const v = counter[0];
      if (i % 64 === 0) await Promise.resolve();
      counter[0] = v + 1;
      mutex.unlock();
    }
    clearInterval(alive);
    out({ done: true });
    break;
  }
  case "mutex-hold":
    if (mutex.lock() === "timed-out") throw new Error("timed out");
    Atomics.store(words, 1, 1);
    setInterval(() => {}, 1000);
    break;
  case "mutex-lock": {
    Atomics.store(words, 2, 1);
    const result = a1 === "async" ? await mutex.lockAsync(30_000) : mutex.lock(30_000);
    mutex.unlock();
    out({ result });
    break;
  }
  default:
    console.error(`unknown op ${op}`);
    process.exit(2);
}
if (op !== "mutex-hold") seg.close();
