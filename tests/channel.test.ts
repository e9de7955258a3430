import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel, Segment, ShmError } from "../mod.ts";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { child, command, have, ok, run, runAsync, RUNTIMES, withSegment } from "./helpers.ts";
import type { ChildResult } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";

const peer = child("channel_peer.ts");
const isCode = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;

/** Resolves once the i32 header word at `byte` becomes 1 (a peer went to sleep). */
async function sleeping(seg: Segment, byte: number): Promise<void> {
  const word = seg.region(byte, 4).array(Int32Array);
  while (Atomics.load(word, 0) !== 1) await new Promise((r) => setTimeout(r, 5));
}

test("create lays out a header that open validates", () =>
  withSegment(8192, (seg) => {
    assert.throws(() => Channel.open(seg), isCode("ERR_CHANNEL_INVALID"));
    const ch = Channel.create(seg, { capacity: 4096 });
    assert.equal(ch.capacity, 4096);
    assert.equal(ch.maxMessage, 4088);
    const h = seg.region(0, 192).view();
    assert.equal(h.getUint32(0, true), 0x434d4853);
    assert.equal(new TextDecoder().decode(seg.region(0, 4).bytes()), "SHMC");
    assert.equal(h.getUint32(4, true), 4);
    assert.equal(h.getUint32(8, true), 4096);
    assert.equal(h.getUint32(12, true), 192);
    assert.equal(Channel.open(seg).capacity, 4096);
    assert.throws(() => Channel.open(seg.region(0, 1024)), (e: unknown) =>
      isCode("ERR_CHANNEL_INVALID")(e) && /needs 4288 bytes but the region has 1024/.test((e as Error).message));
    for (const version of [1, 2, 3]) {
      h.setUint32(4, version, true);
      assert.throws(() =>
        Channel.open(seg), (e: unknown) =>
        isCode("ERR_CHANNEL_INVALID")(e) && new RegExp(`version ${version};`).test((e as Error).message));
    }
    h.setUint32(0, 0xdeadbeef, true);
    assert.throws(() =>
      Channel.open(seg), (e: unknown) =>
      isCode("ERR_CHANNEL_INVALID")(e) && /magic 0xdeadbeef/.test((e as Error).message));
  }));

test("bad arguments are rejected before anything changes", () =>
  withSegment(8192, (seg, name) => {
    assert.throws(() => Channel.create({} as Segment), TypeError);
    assert.throws(() => Channel.create(seg, { capacity: 100 }), RangeError);
    assert.throws(() => Channel.create(seg, { capacity: 16384 }), /from 64 to 8000/);
    assert.throws(() => Channel.create(seg, { capacity: "1" as unknown as number }), TypeError);
    assert.throws(() => Channel.create(seg, { spinMicros: -1 }), RangeError);
    assert.throws(() => Channel.create(seg.region(4)), RangeError);
    assert.throws(() => Channel.create(seg.region(0, 200)), RangeError);
    const ro = Segment.open(name, { readOnly: true });
    assert.throws(() => Channel.create(ro), TypeError);
    ro.close();
    assert.equal(seg.bytes().some((b) => b !== 0), false, "nothing written");
    const ch = Channel.create(seg, { capacity: 256 });
    assert.throws(() => ch.send(new Uint8Array(249)), (e: unknown) =>
      e instanceof RangeError && /from 0 to 248 .* got 249/.test(e.message));
    assert.throws(() =>
      ch.reserve(-1), RangeError);
    assert.throws(() => ch.reserve(1.5), RangeError);
    assert.throws(() => ch.send("text" as unknown as Uint8Array), TypeError);
    assert.throws(() => ch.recv(-1), RangeError);
    assert.throws(() => ch.commit(), /Nothing to commit/);
    assert.throws(() => ch.release(), /Nothing to release/);
    assert.equal(ch.send(new Uint8Array(248)), true, "the largest message fits");
    assert.deepEqual(ch.recv(), new Uint8Array(248));
  }));

test("variable sizes wrap around, in order, with backpressure", () =>
  withSegment(4096, (seg) => {
    const tx = Channel.create(seg, { capacity: 256 });
    const rx = Channel.open(seg);
    let sent = 0;
    let got = 0;
    let full = 0;
    const check = (m: Uint8Array) => {
      assert.equal(m.length, (got * 37) % 249);
      if (m.length) assert.equal(m[m.length - 1], got & 255);
      got++;
    };
    while (sent < 20_000) {
      const m = new Uint8Array((sent * 37) % 249).fill(sent & 255);
      if (tx.trySend(m)) {
        sent++;
        continue;
      }
      full++;
      const r = rx.recv(0); // null when it only skipped a wrap marker
      if (r) check(r);
    }
    for (let r = rx.recv(0); r !== null; r = rx.recv(0)) check(r);
    assert.equal(got, sent);
    assert.ok(full > 1000, "the ring filled up");
    assert.equal(rx.closed, false);
  }));

test("in place: reserve/commit a shorter message, recvInPlace/release", () =>
  withSegment(4096, (seg) => {
    const ch = Channel.create(seg);
    const w = ch.reserve(100)!;
    assert.equal(w.byteOffset % 8, 0, "payloads are 8-byte aligned");
    assert.throws(() => ch.reserve(1), /commit\(\) the reserved message/);
    w.set([1, 2, 3]);
    ch.commit(3);
    const r = ch.recvInPlace()!;
    assert.deepEqual(Array.from(r), [1, 2, 3]);
    assert.equal(r.buffer, w.buffer, "the same shared memory, no copy");
    assert.throws(() => ch.recv(0), /release\(\) the message/);
    ch.release();
    assert.equal(ch.recv(0), null);
  }));

test("close wakes nobody in this process harmlessly and ends the stream after draining", () =>
  withSegment(4096, (seg) => {
    const ch = Channel.create(seg);
    ch.send(new Uint8Array([5]));
    ch.close();
    ch.close();
    assert.equal(ch.closed, true);
    assert.throws(() => ch.send(new Uint8Array(1)), isCode("ERR_CHANNEL_CLOSED"));
    assert.throws(() => ch.reserve(1), isCode("ERR_CHANNEL_CLOSED"));
    assert.deepEqual(ch.recv(), new Uint8Array([5]));
    assert.equal(ch.recv(), null);
    seg.close();
    assert.throws(() => ch.recv(0), isCode("ERR_USE_AFTER_CLOSE"));
  }));

test("a recv timeout returns null, not early", () =>
  withSegment(4096, async (seg) => {
    const ch = Channel.create(seg);
    let start = performance.now();
    assert.equal(ch.recv(50), null);
    assert.ok(performance.now() - start >= 49, "not early");
    start = performance.now();
    assert.equal(await ch.recvAsync(50), null);
    assert.ok(performance.now() - start >= 49, "not early");
    assert.equal(ch.closed, false);
  }));

for (const runtime of RUNTIMES) {
  test(`a recv timeout in a ${runtime} child returns null, not early`, () =>
    withSegment(4096, (seg, name) => {
      Channel.create(seg);
      const r = JSON.parse(ok(run(runtime, peer, [name, "0", "recv-timeout", "100"])));
      assert.equal(r.result, null);
      assert.equal(r.async, null);
      assert.ok(r.elapsed >= 99 && r.elapsedAsync >= 99, `not early: ${r.elapsed}, ${r.elapsedAsync}`);
      assert.equal(r.closed, false);
    }));
}

test("1,000,000 messages: a Deno producer, a Bun and a Node consumer, none lost or duplicated", () =>
  withSegment(2 * 65536, async (seg, name) => {
    Channel.create(seg.region(0, 65536));
    Channel.create(seg.region(65536));
    const n = "1000000";
    const [p, bun, node] = await Promise.all([
      runAsync("deno", peer, [name, "0", "produce", n, "65536"], 120_000),
      runAsync("bun", peer, [name, "0", "consume", n], 120_000),
      runAsync("node", peer, [name, "65536", "consume", n], 120_000),
    ]);
    assert.deepEqual(JSON.parse(ok(p, "deno producer")), { sent: 1_000_000 });
    assert.deepEqual(JSON.parse(ok(bun, "bun consumer")), { received: 1_000_000 });
    assert.deepEqual(JSON.parse(ok(node, "node consumer")), { received: 1_000_000 });
  }));

const pairs: [Runtime, Runtime][] = [["bun", "node"], ["node", "deno"]];
for (const [producer, consumer] of pairs) {
  test(`1,000,000 messages from ${producer} to ${consumer}, none lost or duplicated`, () =>
    withSegment(4096 + 192, async (seg, name) => {
      Channel.create(seg);
      const [p, c] = await Promise.all([
        runAsync(producer, peer, [name, "0", "produce", "1000000"], 120_000),
        runAsync(consumer, peer, [name, "0", "consume", "1000000"], 120_000),
      ]);
      assert.deepEqual(JSON.parse(ok(p, producer)), { sent: 1_000_000 });
      assert.deepEqual(JSON.parse(ok(c, consumer)), { received: 1_000_000 });
    }));
}

/** Runs `script` in `runtime` on the given CPU (taskset), without blocking. */
function runPinned(cpu: number, runtime: Runtime, args: string[]): Promise<ChildResult> {
  const [exe, ...pre] = command(runtime);
  return new Promise((resolve, reject) => {
    const p = spawn("taskset", ["-c", String(cpu), exe, ...pre, peer, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("error", reject);
    p.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

// Both on one CPU the sides yield to each other; on two they spin: both paths must lose nothing.
const placements: [string, number, number][] = [["one CPU", 0, 0], ["two CPUs", 0, 1]];
for (const [label, cpuA, cpuB] of placements) {
  test(`1,000,000 messages from deno to bun pinned to ${label}, none lost or duplicated`, {
    skip: !have("taskset") && "needs taskset",
  }, () =>
    withSegment(4096 + 192, async (seg, name) => {
      Channel.create(seg);
      const [p, c] = await Promise.all([
        runPinned(cpuA, "deno", [name, "0", "produce", "1000000"]),
        runPinned(cpuB, "bun", [name, "0", "consume", "1000000"]),
      ]);
      assert.deepEqual(JSON.parse(ok(p, "deno")), { sent: 1_000_000 });
      assert.deepEqual(JSON.parse(ok(c, "bun")), { received: 1_000_000 });
    }));
}

const asyncPairs: [Runtime, Runtime][] = [["node", "deno"], ["deno", "bun"], ["bun", "node"]];
for (const [producer, consumer] of asyncPairs) {
  test(`sendAsync in ${producer} to recvAsync in ${consumer}`, () =>
    withSegment(4096, async (seg, name) => {
      Channel.create(seg);
      const [p, c] = await Promise.all([
        runAsync(producer, peer, [name, "0", "produce-async", "20000"]),
        runAsync(consumer, peer, [name, "0", "consume-async", "20000"]),
      ]);
      assert.deepEqual(JSON.parse(ok(p, producer)), { sent: 20_000 });
      assert.deepEqual(JSON.parse(ok(c, consumer)), { received: 20_000 });
    }));
}

const bigPairs: [Runtime, Runtime][] = [["bun", "node"], ["node", "deno"], ["deno", "bun"]];
for (const [producer, consumer] of bigPairs) {
  test(`1 MiB messages written and read in place, ${producer} to ${consumer}, byte for byte`, () =>
    withSegment(192 + (4 << 20), async (seg, name) => {
      Channel.create(seg);
      const args = ["64", String(1 << 20)];
      const [p, c] = await Promise.all([
        runAsync(producer, peer, [name, "0", "big-produce", ...args]),
        runAsync(consumer, peer, [name, "0", "big-consume", ...args]),
      ]);
      assert.deepEqual(JSON.parse(ok(p, producer)), { sent: 64 });
      assert.deepEqual(JSON.parse(ok(c, consumer)), { received: 64 });
    }));
}

for (const runtime of RUNTIMES) {
  test(`close wakes a ${runtime} receiver blocked in recv, which gets null`, () =>
    withSegment(4096, async (seg, name) => {
      const ch = Channel.create(seg);
      const r = runAsync(runtime, peer, [name, "0", "recv-wait"]);
      await sleeping(seg, 132);
      ch.close();
      assert.deepEqual(JSON.parse(ok(await r)), { result: null, closed: true });
    }));

  test(`close wakes a ${runtime} sender blocked on a full ring, which gets ERR_CHANNEL_CLOSED`, () =>
    withSegment(4096, async (seg, name) => {
      const ch = Channel.create(seg, { capacity: 256 });
      const r = runAsync(runtime, peer, [name, "0", "send-wait"]);
      await sleeping(seg, 68);
      ch.close();
      assert.deepEqual(JSON.parse(ok(await r)), { code: "ERR_CHANNEL_CLOSED" });
    }));
}

const cc = spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;

test("a C program speaks the documented layout: it receives from Deno and sends to Node", {
  skip: !cc && "needs a C compiler",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "shmem-c-"));
  const exe = join(dir, "channel_peer");
  try {
    const build = spawnSync("cc", ["-O2", "-o", exe, child("channel_peer.c"), "-lrt"], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const runC = (args: string[]) =>
      new Promise<ChildResult>((resolve) => {
        const p = spawn(exe, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        p.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
        p.on("close", (status, signal) => {
          clearTimeout(timer);
          resolve({ status, signal, stdout, stderr });
        });
      });
    await withSegment(4096 + 192, async (seg, name) => {
      Channel.create(seg);
      const [p, c] = await Promise.all([
        runAsync("deno", peer, [name, "0", "produce", "200000"]),
        runC([name, "consume", "200000"]),
      ]);
      assert.deepEqual(JSON.parse(ok(p, "deno")), { sent: 200_000 });
      assert.deepEqual(JSON.parse(ok(c, "C consumer")), { received: 200_000 });
    });
    await withSegment(4096 + 192, async (seg, name) => {
      Channel.create(seg);
      const [p, c] = await Promise.all([
        runC([name, "produce", "200000"]),
        runAsync("node", peer, [name, "0", "consume", "200000"]),
      ]);
      assert.deepEqual(JSON.parse(ok(p, "C producer")), { sent: 200_000 });
      assert.deepEqual(JSON.parse(ok(c, "node")), { received: 200_000 });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
