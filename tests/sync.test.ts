import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Mutex, notify, Segment, ShmError, wait, waitAsync } from "../mod.ts";
import { pollingBackend } from "../windows/wait.ts";
import { child, command, ok, run, runAsync, RUNTIMES, testName } from "./helpers.ts";

const script = child("sync.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fresh(): { seg: Segment; words: Int32Array; done(): void } {
  const seg = Segment.create(testName(), { size: 4096 });
  return {
    seg,
    words: seg.region(0, 64).array(Int32Array),
    done() {
      seg.close();
      seg.unlink();
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 30_000 && !cond(); i++) await sleep(1);
  if (!cond()) throw new Error(`gave up waiting for ${what}`);
}

test("Atomics.add from three runtimes at once gives the exact total", async () => {
  const { seg, words, done } = fresh();
  try {
    const n = 200_000;
    const results = await Promise.all(RUNTIMES.map((r) => runAsync(r, script, [seg.name, "add", String(n)])));
    results.forEach((r, i) => ok(r, RUNTIMES[i]));
    assert.equal(Atomics.load(words, 0), 3 * n);
  } finally {
    done();
  }
});

test("wait: not-equal at once, timed-out never early, bad input rejected", () => {
  const { seg, words, done } = fresh();
  try {
    words[0] = 5;
    assert.equal(wait(words, 0, 4), "not-equal");
    assert.equal(wait(seg.region(0, 4), 0, 4, 0), "not-equal");
    for (const ms of [0, 1, 25]) {
      const t0 = performance.now();
      assert.equal(wait(words, 0, 5, ms), "timed-out");
      assert.ok(performance.now() - t0 >= ms, `returned before ${ms} ms`);
    }
    assert.equal(notify(words, 0), 0);
    assert.equal(notify(words, 0, 0), 0);
    assert.throws(() => wait(new Int32Array(4), 0, 0), TypeError);
    assert.throws(() => wait(new Int32Array(new SharedArrayBuffer(16)), 0, 0), TypeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => wait(seg.region(0, 64).array(Uint32Array) as any, 0, 0), TypeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => wait(words, "0" as any, 0), TypeError);
    for (const i of [-1, 16, 1.5, NaN]) assert.throws(() => wait(words, i, 0), RangeError);
    for (const v of [1.5, 2 ** 32, -(2 ** 31) - 1]) assert.throws(() => wait(words, 0, v), RangeError);
    for (const t of [-1, NaN]) assert.throws(() => wait(words, 0, 0, t), RangeError);
    assert.throws(() => notify(words, 0, -1), RangeError);
    assert.throws(() => waitAsync(words, 99, 0), RangeError);
    assert.throws(() => wait(seg.region(0, 6), 0, 0), RangeError);
    const ro = Segment.open(seg.name, { readOnly: true });
    assert.throws(() => wait(ro.region(0, 4), 0, 0), TypeError);
    ro.close();
  } finally {
    done();
  }
  assert.throws(() => wait(words, 0, 0), ShmError);
});

test("waitAsync: not-equal, timed-out, woken by notify in this process", async () => {
  const { words, done } = fresh();
  const alive = setInterval(() => {}, 1000);
  try {
    assert.equal(await waitAsync(words, 0, 1), "not-equal");
    const t0 = performance.now();
    assert.equal(await waitAsync(words, 0, 0, 30), "timed-out");
    assert.ok(performance.now() - t0 >= 30);
    const p = waitAsync(words, 3, 0);
    await sleep(20);
    Atomics.store(words, 3, 1);
    notify(words, 3);
    assert.equal(await p, "ok");
  } finally {
    clearInterval(alive);
    done();
  }
});

for (const waiter of RUNTIMES) {
  for (const notifier of RUNTIMES) {
    test(`a ${waiter} waiter is woken by a ${notifier} notifier`, async () => {
      const { seg, words, done } = fresh();
      try {
        const w = runAsync(waiter, script, [seg.name, "wait", "inf"]);
        await until(() => Atomics.load(words, 1) === 1, "the waiter");
        const n = JSON.parse(ok(await runAsync(notifier, script, [seg.name, "notify"]), notifier));
        assert.equal(n.woken, 1);
        assert.equal(JSON.parse(ok(await w, waiter)).result, "ok");
      } finally {
        done();
      }
    });
  }
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: waitAsync keeps the event loop running and is woken from here`, async () => {
    const { seg, words, done } = fresh();
    try {
      const w = runAsync(runtime, script, [seg.name, "waitasync"]);
      await until(() => Atomics.load(words, 1) === 1, "the ticking waiter");
      let woken = 0;
      for (let i = 0; i < 10_000 && woken === 0; i++) {
        woken = notify(words, 0);
        if (woken === 0) await sleep(1);
      }
      assert.equal(woken, 1);
      const r = JSON.parse(ok(await w, runtime));
      assert.equal(r.result, "ok");
      assert.ok(r.ticks >= 10);
    } finally {
      done();
    }
  });

  test(`${runtime}: a pending waitAsync keeps the process alive until the memory is closed, then rejects`, () => {
    const { seg, done } = fresh();
    try {
      // A 60 s wait left pending, then the segment closed: the child must end well before (run's limit: 20 s).
      const r = run(runtime, script, [seg.name, "pending"], 20_000);
      const lines = ok(r, runtime).trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(lines, [{ pending: true }, { alive: true }, { rejected: "ERR_USE_AFTER_CLOSE" }]);
    } finally {
      done();
    }
  });
}

test("deno with --allow-ffi only: waitAsync, woken by another process, needs no worker file and no --allow-read", async () => {
  const { seg, words, done } = fresh();
  try {
    const [deno] = command("deno");
    const p = spawn(deno, ["run", "--allow-ffi", "--quiet", script, seg.name, "waitasync"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => p.on("close", resolve));
    try {
      await until(() => Atomics.load(words, 1) === 1 || p.exitCode !== null, "the ticking deno waiter");
      let woken = 0;
      for (let i = 0; i < 10_000 && woken === 0 && p.exitCode === null; i++) {
        woken = notify(words, 0);
        if (woken === 0) await sleep(1);
      }
      assert.equal(await exited, 0, stderr);
      assert.equal(woken, 1);
      assert.equal(JSON.parse(stdout).result, "ok");
    } finally {
      p.kill("SIGKILL");
    }
  } finally {
    done();
  }
});

test("the polling backend (Windows) wakes on a changed word and times out", async () => {
  const { words, done } = fresh();
  const alive = setInterval(() => {}, 1000);
  try {
    const poll = pollingBackend();
    const t0 = performance.now();
    assert.equal(poll.wait(words.subarray(0, 1), 0n, 0, 20), "timed-out");
    assert.ok(performance.now() - t0 >= 20);
    const p = poll.waitAsync(words.subarray(0, 1), 0n, 0, 10_000);
    await sleep(10);
    Atomics.store(words, 0, 1);
    assert.equal(await p, "ok");
    assert.equal(poll.wait(words.subarray(0, 1), 0n, 0, 10_000), "ok");
    assert.equal(poll.notify(words.subarray(0, 1), 0n, 1), 0);
  } finally {
    clearInterval(alive);
    done();
  }
});

test("Mutex: tryLock, unlock, timeouts and input checks in one process", async () => {
  const { seg, done } = fresh();
  const alive = setInterval(() => {}, 1000);
  try {
    const m = Mutex.init(seg.region(64, Mutex.BYTES));
    assert.equal(m.tryLock(), "locked");
    assert.equal(m.tryLock(), "busy");
    assert.throws(() => m.lock(30), (e: unknown) => e instanceof ShmError && e.code === "ERR_MUTEX_DEADLOCK");
    const t0 = performance.now();
    assert.equal(await m.lockAsync(30), "timed-out");
    assert.ok(performance.now() - t0 >= 30);
    m.unlock();
    assert.throws(() => m.unlock(), (e: unknown) => e instanceof ShmError && e.code === "ERR_MUTEX_NOT_LOCKED");
    assert.equal(m.lock(), "locked");
    const later = m.lockAsync();
    await sleep(10);
    m.unlock();
    assert.equal(await later, "locked");
    m.unlock();
    // deno-lint-ignore no-explicit-any
    assert.throws(() => new Mutex({} as any), TypeError);
    assert.throws(() => new Mutex(seg.region(64, 8)), RangeError);
    assert.throws(() => new Mutex(seg.region(68, 16)), RangeError);
    assert.throws(() => m.lock(-1), RangeError);
  } finally {
    clearInterval(alive);
    done();
  }
});

test("Mutex: three runtimes increment a plain counter under the lock, exact total", async () => {
  const { seg, done } = fresh();
  try {
    Mutex.init(seg.region(64, Mutex.BYTES));
    const n = 3000;
    const jobs = [...RUNTIMES.map((r) => [r, "sync"]), ...RUNTIMES.map((r) => [r, "async"])];
    const results = await Promise.all(
      jobs.map(([r, mode]) => runAsync(r as "deno", script, [seg.name, "mutex-inc", String(n), mode])),
    );
    results.forEach((r, i) => ok(r, jobs[i].join(" ")));
    assert.equal(seg.region(128, 4).array(Int32Array)[0], jobs.length * n);
  } finally {
    done();
  }
});

for (
  const [holder, locker, mode] of [
    ["deno", "bun", "sync"],
    ["bun", "node", "async"],
    ["node", "deno", "sync"],
    ["deno", "node", "async"],
    ["bun", "deno", "async"],
    ["node", "bun", "sync"],
  ] as const
) {
  test(`Mutex: a ${holder} owner killed with SIGKILL is recovered by a ${locker} ${mode} locker, told "owner-died"`, async () => {
    const { seg, words, done } = fresh();
    try {
      const m = Mutex.init(seg.region(64, Mutex.BYTES));
      const [exe, ...pre] = command(holder);
      const p = spawn(exe, [...pre, script, seg.name, "mutex-hold"], { stdio: "ignore" });
      const exited = new Promise((r) => p.on("exit", r));
      try {
        await until(() => Atomics.load(words, 1) === 1, "the holder");
        assert.equal(m.tryLock(), "busy");
        const l = runAsync(locker, script, [seg.name, "mutex-lock", mode]);
        await until(() => Atomics.load(words, 2) === 1, "the locker");
        await sleep(50);
        p.kill("SIGKILL");
        await exited;
        assert.deepEqual(JSON.parse(ok(await l, locker)), { result: "owner-died" });
        assert.equal(m.tryLock(), "locked");
        m.unlock();
      } finally {
        p.kill("SIGKILL");
      }
    } finally {
      done();
    }
  });
}
