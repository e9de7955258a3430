// The CPU cost of one publish-subscribe sample in one process, call by call: a loop of 200,000 of loan, write the
// first byte, publish, receive, read the first byte, release (one publisher, one subscriber, depth 2), with detached
// views (the default) and kept views. Each call is timed on its own (the cost of reading the clock, measured the same
// way around nothing, is subtracted), so the figures split CPU cost from the cache lines a hop moves across CPUs.
// Usage: <runtime> bench/pubsub_cpu.ts [module path, default ../mod.ts]
import { fileURLToPath, pathToFileURL } from "node:url";

const at = process.argv[2];
const mod = at === undefined ? "../mod.ts" : pathToFileURL(at).href;
const { Publisher, Subscriber, uniqueName } = await import(mod) as typeof import("../mod.ts");
void fileURLToPath;
const LOOPS = 200_000;
const now = () => performance.now();

for (const detach of [true, false]) {
  const name = uniqueName("shmcpu_");
  const pub = Publisher.create(name, { sampleSize: 64, subscribers: 1, depth: 2, detach });
  const sub = Subscriber.open(name, { detach });
  const t = { clock: 0, loan: 0, write: 0, publish: 0, receive: 0, read: 0, release: 0, whole: 0 };
  let sum = 0;
  for (let round = 0; round < 2; round++) {
    for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] = 0;
    for (let i = 0; i < LOOPS; i++) {
      const t0 = now();
      const t1 = now();
      const s = pub.loan();
      const t2 = now();
      s.bytes[0] = i & 255;
      const t3 = now();
      s.publish();
      const t4 = now();
      const got = sub.receive()!;
      const t5 = now();
      sum += got.bytes[0];
      const t6 = now();
      got.release();
      const t7 = now();
      t.clock += t1 - t0;
      t.loan += t2 - t1;
      t.write += t3 - t2;
      t.publish += t4 - t3;
      t.receive += t5 - t4;
      t.read += t6 - t5;
      t.release += t7 - t6;
    }
    const w0 = now();
    for (let i = 0; i < LOOPS; i++) {
      const s = pub.loan();
      s.bytes[0] = i & 255;
      s.publish();
      const got = sub.receive()!;
      sum += got.bytes[0];
      got.release();
    }
    t.whole = now() - w0;
  }
  const us = (ms: number) => ((ms * 1000) / LOOPS);
  const c = us(t.clock);
  const cells = (["loan", "write", "publish", "receive", "read", "release"] as const).map((k) =>
    `${k} ${(us(t[k]) - c).toFixed(3)}`
  );
  console.log(`${detach ? "detached" : "kept"}: ${cells.join(", ")}; untimed loop ${us(t.whole).toFixed(3)} µs/sample`);
  pub.close();
  sub.close();
  if (sum < 0) console.log(sum);
}
