// The publish-subscribe layout and ring arithmetic over a SharedArrayBuffer: no system calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShmError } from "../mod.ts";
import { C, computeLayout, poolSize, readLayout, REC, SLOT, writeLayout } from "../pubsub/layout.ts";
import type { PubSubParams } from "../pubsub/layout.ts";
import { PubSubState } from "../pubsub/state.ts";

const params: PubSubParams = {
  subscribers: 3,
  depth: 4,
  history: 2,
  loans: 2,
  borrows: 2,
  policy: "drop-oldest",
  sampleSize: 100,
};
const header = (bytes: number) => ({
  kind: "publish-subscribe" as const,
  version: 2,
  layoutOffset: 64,
  totalBytes: 64 + bytes,
  creatorPid: 1,
});
const invalid = (e: unknown) => e instanceof ShmError && e.code === "ERR_SERVICE_INVALID";

function fresh(p = params): PubSubState {
  const l = computeLayout(p);
  const words = new Int32Array(new SharedArrayBuffer(l.payloadOffset));
  writeLayout(words, l);
  return new PubSubState(words, l);
}

test("pubsub layout: pool size and offsets follow the spec", () => {
  const l = computeLayout(params);
  assert.equal(poolSize(params), 3 * (4 + 2) + 2 + 2);
  assert.equal(l.samples, 22);
  assert.equal(l.stride, 128);
  assert.equal(l.queuesOffset, 256 + 3 * 192);
  assert.equal(l.recordsOffset, 960); // 832 + 3 rings of 4 entries of 8 bytes, rounded up to 64
  assert.equal(l.historyOffset, 960 + 22 * 32);
  assert.equal(l.payloadOffset, 1728);
  assert.equal(l.bytes, 1728 + 22 * 128);
  for (const o of [l.queuesOffset, l.recordsOffset, l.historyOffset, l.payloadOffset]) assert.equal(o % 64, 0);
});

test("pubsub layout: a reader recomputes everything and refuses what differs", () => {
  const s = fresh();
  const l = s.layout;
  assert.deepEqual(readLayout(s.words, header(l.bytes)), l);
  assert.throws(() => readLayout(s.words, { ...header(l.bytes), version: 1 }), invalid, "version 1 is refused");
  assert.throws(() => readLayout(s.words, { ...header(l.bytes), version: 3 }), invalid);
  assert.throws(() => readLayout(s.words, header(l.bytes + 64)), invalid);
  const corrupt: [number, number][] = [
    [C.subscribers, 65],
    [C.subscribers, 0],
    [C.depth, 0],
    [C.history, 5],
    [C.policy, 7],
    [C.samples, 23],
    [C.stride, 100],
    [C.recordsOffset, 0],
    [C.payloadOffset, -1],
    [C.sampleSize, -1],
  ];
  for (const [index, value] of corrupt) {
    const words = s.words.slice();
    words[index] = value;
    assert.throws(() => readLayout(words, header(l.bytes)), invalid, `word ${index} = ${value}`);
  }
});

test("pubsub state: rings push and take in order, and wrap", () => {
  const s = fresh();
  assert.equal(s.take(1), -1);
  for (let round = 0; round < 3; round++) {
    for (let j = 0; j < 4; j++) s.push(1, j + round);
    assert.equal(s.queued(1), 4);
    for (let j = 0; j < 4; j++) assert.equal(s.take(1), j + round);
    assert.equal(s.take(1), -1);
  }
  assert.equal(s.queued(0), 0);
});

test("pubsub state: corrupt counters and indices throw, never read out of range", () => {
  const s = fresh();
  s.words[s.slot(2, SLOT.head)] = 9; // 9 queued in a ring of 4
  assert.throws(() => s.queued(2), invalid);
  s.words[s.slot(2, SLOT.head)] = -1; // tail 0, head 2^32 - 1
  assert.throws(() => s.queued(2), invalid);
  s.words[s.slot(2, SLOT.head)] = 1;
  assert.equal(s.take(2), -1, "head alone is not an entry: the entry's stamp is");
  s.words[s.entry(2, 0)] = 1; // the stamp of position 0
  s.words[s.entry(2, 0) + 1] = 1000; // names sample 1000 of 22
  assert.throws(() => s.take(2), invalid);
  s.words[s.record(3, REC.length)] = 101;
  assert.throws(() => s.sample(3), invalid);
  s.words[C.historyCount] = 3;
  assert.throws(() => s.history(), invalid);
  s.words[C.historyCount] = 1;
  s.words[C.historyNext] = 2;
  assert.throws(() => s.history(), invalid);
});

test("pubsub state: masks, loans, history and forgetting a subscriber", () => {
  const s = fresh();
  const a = s.loan(0);
  assert.equal(a, 0);
  assert.equal(s.free(a), false);
  assert.equal(s.loan(0), 1, "a loaned sample is not loaned again");
  s.unloan(1);
  assert.equal(s.free(1), true);
  assert.equal(s.stamp(a, 10, 0b101, 0), 0);
  assert.equal(s.holds(a, 0), true);
  assert.equal(s.holds(a, 1), false);
  assert.deepEqual(s.sample(a), { length: 10, seq: 0 });
  s.clearBit(a, 0);
  s.clearBit(a, 2);
  assert.equal(s.free(a), false, "kept for history");
  assert.deepEqual(s.history(), [a]);
  for (const j of [5, 6]) {
    s.stamp(j, 1, 0, 0);
    s.words[C.published]++;
  }
  assert.deepEqual(s.history(), [5, 6]);
  assert.equal(s.free(a), true, "pushed out of the history of 2");
  s.setBit(7, 1);
  s.push(1, 7);
  s.forget(1);
  assert.equal(s.holds(7, 1), false);
  assert.equal(s.queued(1), 0);
  const wide = fresh({ ...params, subscribers: 64 });
  wide.setBit(7, 33);
  wide.setBit(7, 63);
  assert.equal(wide.holds(7, 33), true);
  assert.equal(wide.holds(7, 1), false);
  wide.forget(33);
  assert.equal(wide.holds(7, 33), false);
  assert.equal(wide.holds(7, 63), true);
});
