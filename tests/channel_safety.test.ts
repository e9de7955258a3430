// Channel regressions: wrap-around that deadlocked or refused messages on an empty ring, and corrupted rings that
// looped forever. The hanging cases run in child processes with a time limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel, type Segment, ShmError } from "../mod.ts";
import { child, ok, run, runAsync, RUNTIMES, withSegment } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";

const peer = child("channel_peer.ts");
const corrupter = child("channel_corrupt.ts");
const HEAD = 16;
const TAIL = 32;

/** Resolves once the i32 header word at `byte` becomes 1 (a peer went to sleep); gives up after 30 s. */
async function sleeping(seg: Segment, byte: number): Promise<void> {
  const word = seg.region(byte, 4).array(Int32Array);
  const end = performance.now() + 30_000;
  while (Atomics.load(word, 0) !== 1) {
    if (performance.now() > end) throw new Error(`the peer never slept on byte ${byte}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("every message up to maxMessage fits into an empty ring, wherever its position", () =>
  withSegment(4096, (seg) => {
    const ch = Channel.create(seg, { capacity: 256 });
    const h = seg.region(0, 192).array(Int32Array);
    let sent = 0;
    for (let position = 0; position < 512; position += 8) {
      for (let n = 0; n <= ch.maxMessage; n++) {
        // An empty ring at `position`: head = tail, a state any run of messages reaches.
        h[HEAD] = position;
        h[TAIL] = position;
        const m = new Uint8Array(n).fill((position + n) & 255);
        assert.equal(ch.trySend(m), true, `${n} bytes into an empty ring at ${position}`);
        assert.deepEqual(ch.recv(0), m, `${n} bytes at ${position}`);
        assert.equal(ch.recv(0), null);
        sent++;
      }
    }
    assert.equal(sent, 64 * 249);
    // The same through reserve(n, 0): the largest message, at the worst position (just past the middle).
    h[HEAD] = h[TAIL] = 136;
    const w = ch.reserve(248, 0);
    assert.ok(w !== null, "reserve(248, 0) on an empty ring at 136");
    w.fill(9);
    ch.commit();
    assert.deepEqual(ch.recv(0), new Uint8Array(248).fill(9));
  }));

test("a wrap marker in a ring that still holds messages is skipped by the receiver, in order", () =>
  withSegment(4096, (seg) => {
    const tx = Channel.create(seg, { capacity: 256 });
    const rx = Channel.open(seg);
    const h = seg.region(0, 192).array(Int32Array);
    h[HEAD] = h[TAIL] = 160;
    assert.equal(tx.trySend(new Uint8Array(40).fill(1)), true); // 160..208
    // 64 bytes do not fit before the end (48 left) and the ring is not empty: marker, then offset 0.
    assert.equal(tx.trySend(new Uint8Array(56).fill(2)), true);
    assert.equal(h[HEAD], 256 + 64);
    assert.deepEqual(rx.recv(0), new Uint8Array(40).fill(1));
    assert.deepEqual(rx.recv(0), new Uint8Array(56).fill(2));
    assert.equal(rx.recv(0), null);
    assert.equal(h[TAIL], 256 + 64);
  }));

for (const runtime of RUNTIMES) {
  test(`a ${runtime} receiver asleep on an empty mid-ring 256-byte ring gets a 248-byte message`, () =>
    withSegment(4096, async (seg, name) => {
      const tx = Channel.create(seg, { capacity: 256 });
      tx.send(new Uint8Array(100));
      assert.equal(Channel.open(seg).recv(0)?.length, 100); // empty, at offset 112
      const r = runAsync(runtime, peer, [name, "0", "recv-wait"], 30_000);
      await sleeping(seg, 132);
      const message = new Uint8Array(248).map((_, k) => k);
      assert.equal(await tx.sendAsync(message, 5000), true, "sent within 5 s");
      const got = JSON.parse(ok(await r, runtime));
      assert.deepEqual(got, { result: Array.from(message), closed: false });
    }));
}

const pairs: [Runtime, Runtime][] = [["deno", "bun"], ["bun", "node"], ["node", "deno"]];
for (const [producer, consumer] of pairs) {
  test(`a 4 KiB ring carries one message of every size from 0 to 4088 bytes, ${producer} to ${consumer}`, () =>
    withSegment(192 + 4096, async (seg, name) => {
      Channel.create(seg);
      const [p, c] = await Promise.all([
        runAsync(producer, peer, [name, "0", "sizes-produce", "4088"], 60_000),
        runAsync(consumer, peer, [name, "0", "sizes-consume", "4088"], 60_000),
      ]);
      assert.deepEqual(JSON.parse(ok(p, producer)), { sent: 4089 });
      assert.deepEqual(JSON.parse(ok(c, consumer)), { received: 4089 });
    }));
}

test("a corrupt record or position throws ERR_CHANNEL_INVALID here too", () =>
  withSegment(4096, (seg) => {
    const ch = Channel.create(seg, { capacity: 256 });
    const h = seg.region(0, 192).array(Int32Array);
    const isInvalid = (e: unknown) =>
      e instanceof ShmError && e.code === "ERR_CHANNEL_INVALID" && /corrupt/.test(e.message);
    ch.send(new Uint8Array(10));
    seg.region(192, 4).array(Int32Array)[0] = 1000;
    assert.throws(() => ch.recv(0), isInvalid);
    h[TAIL] = 3;
    assert.throws(() => ch.recv(0), isInvalid);
    assert.throws(() => ch.trySend(new Uint8Array(1)), isInvalid);
    h[TAIL] = 0;
    h[HEAD] = 300; // 300 bytes published in a 256-byte ring
    assert.throws(() => ch.recv(0), isInvalid);
    assert.throws(() => ch.send(new Uint8Array(1), 10), isInvalid);
  }));

for (const runtime of RUNTIMES) {
  for (const mode of [["issue"], ["fields"], ["random", "20260101", "400"]]) {
    test(`${runtime}: a corrupted ring (${mode.join(" ")}) gives valid results or ERR_CHANNEL_INVALID, never hangs`, () =>
      withSegment(4096, (_seg, name) => {
        const r = run(runtime, corrupter, [name, ...mode], 60_000);
        assert.equal(r.signal, null, `ended by ${r.signal} (a hang hits the 60 s limit): ${r.stderr}`);
        const summary = JSON.parse(ok(r, `${runtime} ${mode[0]}`));
        assert.ok(summary.cases > 10 && summary.threw > 0, JSON.stringify(summary));
      }));
  }
}
