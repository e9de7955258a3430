// Child for the Mutex safety tests: the mutex lives at byte 0 of the segment; prints JSON lines.
// Usage: mutex_peer.ts <segment> <op>
//   closed        lock, leave a lockAsync pending, close the memory: every call and the pending one report their error
//   relock        lock(), then lock() again with no timeout: prints what the second one threw
//   unlock-free   unlock() a mutex nobody holds: prints the error
//   unlock-other  unlock() a mutex another process holds: prints the error
//   hold          lock(), print {held: true}, then wait until killed
//   order         hold it, queue five lockAsync calls (one with a short timeout), release: prints who got it, in order
//   worker        hold it on the main thread; a worker thread's lock(5000) waits until the main thread unlocks
import { Mutex, Segment, ShmError } from "../../mod.ts";
import { Worker } from "node:worker_threads";

const [name, op] = process.argv.slice(2);
const seg = Segment.open(name);
const m = new Mutex(seg.region(0, Mutex.BYTES));
const out = (v: unknown) => console.log(JSON.stringify(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const describe = (e: unknown) =>
  e instanceof ShmError ? { class: "ShmError", code: e.code, message: e.message } : { class: String(e) };
function attempt(call: () => unknown): unknown {
  try {
    return { result: call() };
  } catch (e) {
    return describe(e);
  }
}

switch (op) {
  case "closed": {
    m.lock();
    const pending = m.lockAsync().then((r) => ({ result: r }), describe);
    await sleep(30);
    seg.close();
    out({
      tryLock: attempt(() => m.tryLock()),
      lock: attempt(() => m.lock(10)),
      unlock: attempt(() => m.unlock()),
      lockAsync: await m.lockAsync(10).then((r) => ({ result: r }), describe),
      pending: await pending,
    });
    break;
  }
  case "relock": {
    m.lock();
    const t0 = performance.now();
    out({ second: attempt(() => m.lock()), ms: performance.now() - t0, tryLock: m.tryLock() });
    m.unlock();
    break;
  }
  case "unlock-free":
    out(attempt(() => m.unlock()));
    break;
  case "unlock-other":
    out({ tryLock: m.tryLock(), unlock: attempt(() => m.unlock()) });
    break;
  case "hold":
    m.lock();
    out({ held: true });
    setInterval(() => {}, 1000);
    break;
  case "order": {
    m.lock();
    const got: string[] = [];
    const calls = ["a", "b", "short", "c", "d"].map((label) =>
      m.lockAsync(label === "short" ? 20 : 10_000).then(async (r) => {
        got.push(`${label}:${r}`);
        if (r === "timed-out") return;
        await sleep(5); // hold it across a turn of the event loop
        m.unlock();
      })
    );
    await sleep(60); // "short" times out in the queue meanwhile
    m.unlock();
    await Promise.all(calls);
    out({ got, after: m.tryLock() });
    m.unlock();
    break;
  }
  case "worker": {
    m.lock();
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      import(workerData.mod).then(({ Mutex, Segment }) => {
        const seg = Segment.open(workerData.name);
        const m = new Mutex(seg.region(0, Mutex.BYTES));
        parentPort.postMessage({ started: true });
        let r;
        try { r = m.lock(5000); m.unlock(); } catch (e) { r = "threw " + e.code; }
        parentPort.postMessage({ result: r });
        seg.close();
      });`;
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const w = new Worker(code, { eval: true, workerData: { mod, name } });
    const messages: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      w.on("message", (msg: { started?: boolean; result?: string }) => {
        messages.push(msg);
        if (msg.started) setTimeout(() => m.unlock(), 100);
        if (msg.result !== undefined) resolve();
      });
      w.on("error", reject);
    });
    await done;
    await w.terminate();
    out({ messages });
    break;
  }
  default:
    console.error(`unknown op ${op}`);
    process.exit(2);
}
if (op !== "hold" && op !== "closed") seg.close();
