import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, notify, Segment } from "../mod.ts";
import { pollMs } from "../internal/waiter.ts";
import { FUTEX, linuxWaitDesign } from "../posix/futex.ts";
import { child, ok, runAsync, RUNTIMES, testName } from "./helpers.ts";

const script = child("wait_scale.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const N = 10_000;
const linux = process.platform === "linux";

/** A segment for `n` words and `n` Mutexes after a 4 KiB header. */
function fresh(n: number): { seg: Segment; header: Int32Array; words: Int32Array; done(): void } {
  const seg = Segment.create(testName(), { size: 4096 + n * (4 + Mutex.BYTES) });
  return {
    seg,
    header: seg.region(0, 64).array(Int32Array),
    words: seg.region(4096, 4 * n).array(Int32Array),
    done() {
      seg.close();
      seg.unlink();
    },
  };
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await sleep(2);
  if (!cond()) throw new Error(`gave up waiting for ${what}`);
}

/** The child's two JSON lines: what the pending waits cost, and how they settled. */
function lines(stdout: string): [{ addedThreads: number; addedMiB: number }, Record<string, number>] {
  const [cost, tally] = stdout.trim().split("\n").map((l) => JSON.parse(l));
  return [cost, tally];
}

function assertCost(cost: { addedThreads: number; addedMiB: number }, runtime: string): void {
  assert.ok(cost.addedThreads <= 8, `${runtime}: ${cost.addedThreads} more threads for ${N} pending waits`);
  assert.ok(cost.addedMiB <= 256, `${runtime}: ${cost.addedMiB.toFixed(1)} MiB more for ${N} pending waits`);
}

for (const runtime of RUNTIMES) {
  test(
    `${runtime}: ${N} pending waitAsync on distinct words cost at most 8 threads and 256 MiB; each is woken by another process`,
    {
      skip: !linux,
    },
    async () => {
      const { seg, header, words, done } = fresh(N);
      try {
        const c = runAsync(runtime, script, [seg.name, String(N), "notify"], 120_000);
        await until(() => Atomics.load(header, 0) === 1, "the child's pending waits");
        for (let i = 0; i < N; i++) {
          Atomics.store(words, i, 1);
          notify(words, i);
        }
        const [cost, tally] = lines(ok(await c, runtime));
        assertCost(cost, runtime);
        assert.deepEqual(tally, { [JSON.stringify({ r: "ok", early: false })]: N });
      } finally {
        done();
      }
    },
  );

  test(`${runtime}: ${N} pending waitAsync all time out, none early`, { skip: !linux }, async () => {
    const { seg, done } = fresh(N);
    try {
      const [cost, tally] = lines(ok(await runAsync(runtime, script, [seg.name, String(N), "timeout"], 120_000)));
      assertCost(cost, runtime);
      assert.deepEqual(tally, { [JSON.stringify({ r: "timed-out", early: false })]: N });
    } finally {
      done();
    }
  });

  test(
    `${runtime}: ${N} pending waitAsync reject ERR_USE_AFTER_CLOSE when their memory closes, and the process exits`,
    {
      skip: !linux,
    },
    async () => {
      const { seg, done } = fresh(N);
      try {
        // A 60 s wait each: the child must end long before (runAsync's limit: 30 s).
        const r = await runAsync(runtime, script, [seg.name, String(N), "close"], 30_000);
        const [cost, tally] = lines(ok(r, runtime));
        assertCost(cost, runtime);
        assert.deepEqual(tally, { [JSON.stringify({ rejected: "ERR_USE_AFTER_CLOSE" })]: N });
      } finally {
        done();
      }
    },
  );

  test(`${runtime}: 1000 pending lockAsync on Mutexes another process holds: few threads, each locks once released`, {
    skip: !linux,
  }, async () => {
    const n = 1000;
    const { seg, header, done } = fresh(n);
    const mutexes = Array.from(
      { length: n },
      (_, i) => Mutex.init(seg.region(4096 + 4 * n + i * Mutex.BYTES, Mutex.BYTES)),
    );
    try {
      for (const m of mutexes) assert.equal(m.lock(), "locked");
      const c = runAsync(runtime, script, [seg.name, String(n), "lock"], 120_000);
      await until(() => Atomics.load(header, 0) === 1, "the child's pending locks");
      for (const m of mutexes) m.unlock();
      const [cost, tally] = lines(ok(await c, runtime));
      assert.ok(cost.addedThreads <= 8, `${runtime}: ${cost.addedThreads} more threads for ${n} pending lockAsync`);
      assert.deepEqual(tally, { locked: n });
    } finally {
      done();
    }
  });
}

test("the waiter's design is data: futex_waitv on Linux 5.16+, a plain futex otherwise", () => {
  assert.equal(FUTEX.linux.FUTEX_WAITV, 449);
  assert.equal(FUTEX.linux.WAITV_MAX, 128);
  assert.equal(FUTEX.linux.WAITV_BYTES, 24);
  assert.equal(linuxWaitDesign(22), "futex_waitv"); // EINVAL: the call exists and refused zero words
  assert.equal(linuxWaitDesign(38), "futex"); // ENOSYS: before 5.16
  assert.equal(linuxWaitDesign(1), "futex"); // EPERM: a seccomp filter
  assert.equal(pollMs(10), 2);
  assert.equal(pollMs(9_000), 9);
  assert.equal(pollMs(1e6), 20);
});
