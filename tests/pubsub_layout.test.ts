// The publish-subscribe layout and ring arithmetic over a SharedArrayBuffer: no system calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShmError } from "../mod.ts";
import { C, computeLayout, ENTRY, poolSize, readLayout, REC, SLOT, writeLayout } from "../pubsub/layout.ts";
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
  version: 3,
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
  assert.equal(l.slotBytes, 192); // 128, then tail and 2 held words rounded up to a line
  assert.equal(computeLayout({ ...params, borrows: 15 }).slotBytes, 192);
  assert.equal(computeLayout({ ...params, borrows: 16 }).slotBytes, 256);
  assert.equal(computeLayout({ ...params, borrows: 64 }).slotBytes, 128 + 320);
  assert.equal(l.queuesOffset, 256 + 3 * 192);
  assert.equal(l.recordsOffset, 1024); // 832 + 3 rings of 4 entries of 16 bytes
  assert.equal(l.historyOffset, 1408); // 1024 + 22 records of 16 bytes, rounded up to 64
  assert.equal(l.payloadOffset, 1472);
  assert.equal(l.bytes, 1472 + 22 * 128);
  for (const o of [l.queuesOffset, l.recordsOffset, l.historyOffset, l.payloadOffset]) assert.equal(o % 64, 0);
});

test("pubsub layout: a reader recomputes everything and refuses what differs", () => {
  const s = fresh();
  const l = s.layout;
  assert.deepEqual(readLayout(s.words, header(l.bytes)), l);
  assert.throws(() => readLayout(s.words, { ...header(l.bytes), version: 1 }), invalid, "version 1 is refused");
  assert.throws(() => readLayout(s.words, { ...header(l.bytes), version: 2 }), invalid, "version 2 is refused");
  assert.throws(() => readLayout(s.words, { ...header(l.bytes), version: 4 }), invalid);
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
  assert.equal(s.take(1, 0), -1);
  for (let round = 0; round < 3; round++) {
    for (let j = 0; j < 4; j++) s.push(1, j + round, 10 + j, 100 + j);
    assert.equal(s.queued(1), 4);
    for (let j = 0; j < 4; j++) {
      assert.equal(s.take(1, j & 1), j + round);
      assert.deepEqual([s.takenLength, s.takenSeq], [10 + j, 100 + j]);
      assert.equal(s.words[s.slot(1, SLOT.held + (j & 1))], j + round + 1, "the held word names it");
      s.release(1, j & 1);
    }
    assert.equal(s.take(1, 0), -1);
  }
  assert.equal(s.queued(0), 0);
});

test("pubsub state: corrupt counters and indices throw, never read out of range", () => {
  const s = fresh();
  s.words[s.slot(2, SLOT.head)] = 9; // 9 queued in a ring of 4
  assert.throws(() => s.queued(2), invalid);
  s.words[s.slot(2, SLOT.head)] = -1; // tail 0, head 2^32 - 1
  assert.throws(() => s.queued(2), invalid);
  s.words[s.slot(2, SLOT.state)] = 1;
  assert.throws(() => s.collectFree([]), invalid, "the scan checks head against tail too");
  s.words[s.slot(2, SLOT.head)] = 1;
  assert.equal(s.take(2, 0), -1, "head alone is not an entry: the entry's stamp is");
  s.words[s.entry(2, 0)] = 1; // the stamp of position 0
  s.words[s.entry(2, 0) + ENTRY.index] = 1000; // names sample 1000 of 22
  assert.throws(() => s.collectFree([]), invalid, "a queued index out of range");
  assert.throws(() => s.take(2, 0), invalid);
  s.words[s.entry(2, 0) + ENTRY.index] = 3;
  s.words[s.entry(2, 0) + ENTRY.length] = 101; // more than the sample size
  assert.throws(() => s.take(2, 0), invalid);
  s.words[s.slot(2, SLOT.head)] = 0;
  s.words[s.slot(2, SLOT.tail)] = 0;
  s.words[s.slot(2, SLOT.held + 1)] = 23; // holds sample 22 of 22
  assert.throws(() => s.collectFree([]), invalid, "a held index out of range");
  s.words[s.slot(2, SLOT.held + 1)] = -1;
  assert.throws(() => s.collectFree([]), invalid);
  s.words[s.record(3, REC.length)] = 101;
  assert.throws(() => s.sample(3), invalid);
  s.words[C.historyCount] = 3;
  assert.throws(() => s.history(), invalid);
  s.words[C.historyCount] = 1;
  s.words[C.historyNext] = 2;
  assert.throws(() => s.history(), invalid);
});

test("pubsub state: loans, history, held and queued samples, and forgetting a subscriber", () => {
  const s = fresh();
  const free = () => {
    const out: number[] = [];
    s.collectFree(out);
    return out;
  };
  const all = Array.from({ length: 22 }, (_, j) => j);
  assert.deepEqual(free(), all);
  s.loan(0);
  s.loan(1);
  assert.deepEqual(free(), all.slice(2), "loaned samples are not free");
  s.unloan(1);
  assert.equal(free().includes(1), true);
  assert.equal(s.stamp(0, 10), 0);
  s.words[C.published]++;
  assert.deepEqual(s.sample(0), { length: 10, seq: 0 });
  assert.equal(free().includes(0), false, "kept for history");
  assert.deepEqual(s.history(), [0]);
  for (const j of [5, 6]) {
    s.loan(j);
    s.stamp(j, 1);
    s.words[C.published]++;
  }
  assert.deepEqual(s.history(), [5, 6]);
  assert.equal(free().includes(0), true, "pushed out of the history of 2");
  s.words[s.slot(1, SLOT.state)] = 1; // live: its ring and held words count
  s.push(1, 7, 1, 3);
  s.push(1, 8, 1, 4);
  assert.equal(free().includes(7) || free().includes(8), false, "queued");
  assert.equal(s.take(1, 1), 7);
  assert.equal(free().includes(7), false, "held");
  s.release(1, 1);
  assert.equal(free().includes(7), true, "released");
  s.words[s.slot(1, SLOT.state)] = 0;
  assert.equal(free().includes(8), true, "a slot that is not live holds nothing");
  s.words[s.slot(1, SLOT.state)] = 1;
  assert.equal(s.take(1, 0), 8);
  s.forget(1);
  assert.equal(s.words[s.slot(1, SLOT.held)], 0);
  assert.equal(s.queued(1), 0);
  assert.equal(free().includes(8), true, "forgotten");
  s.push(1, 9, 1, 5);
  assert.equal(s.drop(1), true, "drop-oldest takes the entry");
  assert.equal(s.drop(1), false, "an empty ring has nothing to drop");
  assert.equal(s.take(1, 0), -1);
  assert.equal(free().includes(9), true);
});
