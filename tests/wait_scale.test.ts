import { test } from "node:test";
import assert from "node:assert/strict";
import { notify, Segment } from "../mod.ts";
import { ffi } from "../ffi/mod.ts";
import { bufferOrigin } from "../internal/views.ts";
import { platformFor } from "../platform/mod.ts";
import type { WaitBackend } from "../platform/contracts.ts";
import { pollMs, Waiter } from "../internal/waiter.ts";
import { FUTEX, linuxWaitDesign } from "../posix/futex.ts";
import { child, ok, runAsync, RUNTIMES, testName } from "./helpers.ts";

const script = child("wait_scale.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const N = 10_000;
const linux = process.platform === "linux";

/** A segment for `n` words after a 4 KiB header. */
function fresh(n: number): { seg: Segment; header: Int32Array; words: Int32Array; done(): void } {
  const seg = Segment.create(testName(), { size: 4096 + n * 4 });
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

/** A Linux wait backend of its own on the one-word-a-call fallback (Linux before 5.16), whatever this kernel has. */
function fallbackBackend(): WaitBackend {
  Waiter.singleWord = true;
  try {
    return platformFor("linux").waitBackend();
  } finally {
    Waiter.singleWord = false;
  }
}

/** `backend.waitAsync` on `words[i]`, as wait.ts calls it (a one-word view and its address). */
function waitOn(backend: WaitBackend, words: Int32Array, i: number, expected: number, timeoutMs: number) {
  const address = bufferOrigin(words.buffer)!.address + BigInt(words.byteOffset + 4 * i);
  return backend.waitAsync(words.subarray(i, i + 1), address, expected, timeoutMs);
}

/** A test of the fallback backend over a fresh segment of `n` words. */
function fallbackTest(
  what: string,
  n: number,
  body: (backend: WaitBackend, f: ReturnType<typeof fresh>) => Promise<void>,
) {
  test(`fallback before Linux 5.16: ${what}`, { skip: !linux }, async () => {
    const backend = fallbackBackend();
    const f = fresh(n);
    try {
      await body(backend, f);
    } finally {
      f.done();
    }
  });
}

fallbackTest(
  "the first waits sleep in the kernel (a bare notify wakes them), the rest are polled",
  1000,
  async (backend, { words }) => {
    const n = words.length;
    // One wait per call: the first maxNonblocking sleep in FUTEX_WAIT, and a notify that leaves the word as it was wakes them.
    const asleep = ffi.maxNonblocking;
    const first = Array.from({ length: asleep }, (_, i) => waitOn(backend, words, i, 0, 60_000));
    const rest = Array.from({ length: n - asleep }, (_, i) => waitOn(backend, words, asleep + i, 0, 60_000));
    // Each is woken exactly once it is in the kernel (a worker thread may take a while to start).
    for (let i = 0; i < asleep; i++) {
      const end = performance.now() + 20_000;
      while (notify(words, i) === 0 && performance.now() < end) await sleep(5);
    }
    assert.deepEqual(await Promise.all(first), Array(asleep).fill("ok"));
    // The polled ones see a changed word within their polling period.
    for (let i = asleep; i < n; i++) {
      Atomics.store(words, i, 1);
      notify(words, i);
    }
    assert.deepEqual(await Promise.all(rest), Array(n - asleep).fill("ok"));
  },
);

fallbackTest(
  "waits time out, none early, and reject ERR_USE_AFTER_CLOSE when their memory closes",
  200,
  async (backend, { seg, words }) => {
    const n = words.length;
    const t0 = performance.now();
    const timed = await Promise.all(
      Array.from({ length: n }, (_, i) => waitOn(backend, words, i, 0, 150).then((r) => [r, performance.now() - t0])),
    );
    for (const [r, ms] of timed) {
      assert.equal(r, "timed-out");
      assert.ok((ms as number) >= 150, `timed out after ${ms} ms, before its 150 ms`);
    }
    const closing = Array.from({ length: n }, (_, i) =>
      waitOn(backend, words, i, 0, 60_000).then(
        (r) => r,
        (e) => (e as { code?: string }).code,
      ));
    await sleep(20);
    seg.close();
    assert.deepEqual(await Promise.all(closing), Array(n).fill("ERR_USE_AFTER_CLOSE"));
  },
);

test("a wait added while every call sleeps (each on one word) rings one of them and then sleeps in the kernel", {
  skip: !linux,
}, async () => {
  const backend = platformFor("linux").waitBackend();
  const n = ffi.maxNonblocking + 2;
  const { words, done } = fresh(n);
  try {
    const all: Promise<string>[] = [];
    for (let i = 0; i < n; i++) {
      all.push(waitOn(backend, words, i, 0, 60_000));
      await sleep(20); // the one before is asleep by now, alone in its call
    }
    // A notify that leaves the word as it was wakes only a wait that sleeps in the kernel; one at a time,
    // since futex_waitv reports one woken word per return (the documented use changes the word first).
    for (let i = n - 1; i >= ffi.maxNonblocking; i--) {
      const end = performance.now() + 20_000;
      while (notify(words, i) === 0 && performance.now() < end) await sleep(5);
      assert.equal(await all[i], "ok");
    }
    for (let i = 0; i < ffi.maxNonblocking; i++) {
      Atomics.store(words, i, 1);
      notify(words, i);
    }
    assert.deepEqual(await Promise.all(all), Array(n).fill("ok"));
  } finally {
    done();
  }
});
