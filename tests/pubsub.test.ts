// Publish-subscribe in one process: options, zero copy, views that detach, policies, history, limits, corruption.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Publisher, Segment, ShmError, Subscriber } from "../mod.ts";
import { SLOT, slotBytes } from "../pubsub/layout.ts";
import { shmExists, testName } from "./helpers.ts";

const isCode = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;

test("pubsub: bad options are rejected before anything is created", () => {
  const name = testName();
  const bad: unknown[] = [
    undefined,
    {},
    { sampleSize: 0 },
    { sampleSize: 2 ** 31 },
    { sampleSize: 1.5 },
    { sampleSize: "8" },
    { sampleSize: 8, subscribers: 65 },
    { sampleSize: 8, subscribers: 0 },
    { sampleSize: 8, depth: 0 },
    { sampleSize: 8, depth: 2, history: 3 },
    { sampleSize: 8, loans: 0 },
    { sampleSize: 8, borrows: 65 },
    { sampleSize: 8, policy: "newest" },
    { sampleSize: 8, colour: "red" },
  ];
  for (const options of bad) {
    assert.throws(
      () => Publisher.create(name, options as { sampleSize: number }),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
      JSON.stringify(options),
    );
  }
  assert.equal(shmExists(name), false);
  assert.throws(() => Subscriber.open(name), isCode("ENOENT"));
  assert.throws(() => Subscriber.open(name, { spinMicros: -1 }), RangeError);
  assert.throws(() => Subscriber.open(name, { nope: 1 } as never), TypeError);
});

test("pubsub: every subscriber sees the same memory, and views detach on publish, release and close", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 4096, subscribers: 3 });
  const a = Subscriber.open(name);
  using b = Subscriber.open(name);
  assert.equal(pub.subscribers, 2);
  const out = pub.loan();
  assert.equal(out.bytes.length, 4096);
  out.bytes.set([1, 2, 3]);
  assert.equal(out.publish(3), true);
  assert.equal(out.bytes.length, 0, "a published loan is no longer writable");
  assert.throws(() => out.publish(), isCode("ERR_USE_AFTER_CLOSE"));
  const x = a.receive(1000)!;
  const y = b.receive(1000)!;
  assert.deepEqual([...x.bytes], [1, 2, 3]);
  x.bytes[0] = 42; // the same memory, not a copy per subscriber
  assert.equal(y.bytes[0], 42);
  assert.equal(x.sequence, 0);
  x.release();
  assert.equal(x.bytes.length, 0);
  assert.equal(y.bytes.length, 3, "one release leaves the other's view alone");
  const z = y.bytes;
  a.close();
  assert.equal(pub.subscribers, 1);
  y.release();
  assert.equal(z.length, 0);
  pub.loan().publish(1);
  const w = b.receive(1000)!;
  b.close();
  assert.equal(w.bytes.length, 0, "close detaches held samples");
  assert.equal(w.released, true);
  const loan = pub.loan();
  pub.close();
  assert.equal(loan.bytes.length, 0, "close detaches loans");
  assert.equal(shmExists(name), false, "close removes the name");
});

test("pubsub: samples come back to the pool once every subscriber released them", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 64, subscribers: 2, depth: 2 });
  using a = Subscriber.open(name);
  using b = Subscriber.open(name);
  for (let i = 0; i < 500; i++) {
    const s = pub.loan();
    s.bytes[0] = i & 255;
    assert.equal(s.publish(1, 1000), true);
    for (const sub of [a, b]) {
      using got = sub.receive(1000)!;
      assert.equal(got.sequence, i);
      assert.equal(got.bytes[0], i & 255);
    }
  }
});

test("pubsub: block policy waits for room with a timeout", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 8, depth: 2 });
  using sub = Subscriber.open(name);
  assert.equal(pub.loan().publish(), true);
  assert.equal(pub.loan().publish(), true);
  const third = pub.loan();
  assert.equal(third.publish(8, 30), false, "no room in time");
  assert.equal(third.loaned, true);
  sub.receive(0)!.release();
  assert.equal(third.publish(8, 0), true);
  assert.throws(() => third.publish(9), isCode("ERR_USE_AFTER_CLOSE"));
  assert.throws(() => pub.loan().publish(9), RangeError);
});

test("pubsub: drop-oldest never waits and tells the subscriber what it missed", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 8, depth: 2, policy: "drop-oldest", subscribers: 2 });
  using slow = Subscriber.open(name);
  using fast = Subscriber.open(name);
  for (let i = 0; i < 5; i++) {
    assert.equal(pub.loan().publish(0, 0), true);
    fast.receive(0)!.release();
  }
  const got = slow.receive(0)!;
  assert.equal(got.sequence, 3);
  assert.equal(got.missed, 3);
  got.release();
  assert.equal(slow.receive(0)!.missed, 0);
  assert.equal(slow.missed, 3);
  assert.equal(fast.missed, 0);
});

test("pubsub: a late subscriber gets the last K samples first", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 8, depth: 4, history: 2, borrows: 4 });
  for (let i = 0; i < 5; i++) pub.loan().publish(1);
  using late = Subscriber.open(name);
  assert.deepEqual([late.receive(0)?.sequence, late.receive(0)?.sequence, late.receive(0)], [3, 4, null]);
  pub.loan().publish(1);
  assert.equal(late.receive(0)?.sequence, 5);
});

test("pubsub: limits on loans, borrows and slots", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 8, subscribers: 1, loans: 2, borrows: 1 });
  const a = pub.loan();
  pub.loan();
  assert.throws(() => pub.loan(), isCode("ERR_SAMPLE_LIMIT"));
  a.discard();
  a.discard();
  pub.loan().publish();
  const sub = Subscriber.open(name);
  assert.throws(() => Subscriber.open(name), isCode("ERR_SERVICE_FULL"));
  assert.equal(sub.receive(0), null, "joined after the publish, no history");
  pub.loan().publish();
  pub.loan().publish();
  sub.receive(0);
  assert.throws(() => sub.receive(0), isCode("ERR_SAMPLE_LIMIT"));
  sub.close();
  assert.throws(() => sub.receive(0), isCode("ERR_USE_AFTER_CLOSE"));
  using again = Subscriber.open(name);
  assert.equal(again.receive(0), null);
});

test("pubsub: the publisher's close ends a for-await loop after what was queued", async () => {
  const name = testName();
  const pub = Publisher.create(name, { sampleSize: 8 });
  using sub = Subscriber.open(name);
  const seen: number[] = [];
  const loop = (async () => {
    for await (const s of sub) seen.push(s.sequence);
  })();
  for (let i = 0; i < 3; i++) {
    pub.loan().publish();
    await new Promise((r) => setTimeout(r, 5));
  }
  pub.close();
  await loop;
  assert.deepEqual(seen, [0, 1, 2]);
  assert.throws(() => sub.receive(0), isCode("ERR_PUBLISHER_GONE"));
});

test("pubsub: a segment that is not a valid service is refused, never read out of bounds", () => {
  const name = testName();
  const plain = Segment.create(name, { size: 4096 });
  assert.throws(
    () => Subscriber.open(name, { timeoutMs: 20 }),
    (e: unknown) => isCode("ERR_SERVICE_INVALID")(e) && /did not finish/.test((e as Error).message),
    "all zero: not written yet",
  );
  plain.bytes()[0] = 1;
  assert.throws(
    () => Subscriber.open(name),
    (e: unknown) => isCode("ERR_SERVICE_INVALID")(e) && /not a shmem service/.test((e as Error).message),
  );
  plain.close();
  plain.unlink();
  using pub = Publisher.create(name, { sampleSize: 8 });
  using sub = Subscriber.open(name);
  using raw = Segment.open(name);
  const words = raw.region(64).array(Int32Array);
  const ring = (256 + 4 * slotBytes(2)) / 4; // slot 0's ring: entry 0's stamp, then its sample index
  words[ring] = 1;
  words[ring + 1] = 1000; // names sample 1000 of 26
  assert.throws(() => sub.receive(0), isCode("ERR_SERVICE_INVALID"));
  words[ring] = 0;
  words[(256 + SLOT.head * 4) / 4] = 1000; // slot 0's head: 1000 entries in a ring of 4
  assert.throws(() => pub.loan().publish(), isCode("ERR_SERVICE_INVALID"));
  words[(256 + SLOT.head * 4) / 4] = 0;
  words[2] = 99; // history above depth
  assert.throws(() => Subscriber.open(name), isCode("ERR_SERVICE_INVALID"));
  assert.equal(pub.closed, false);
});

test("pubsub: with detach false, views stay until the port closes", () => {
  const name = testName();
  const pub = Publisher.create(name, { sampleSize: 16, detach: false });
  const sub = Subscriber.open(name, { detach: false });
  assert.throws(() => Subscriber.open(name, { detach: 1 as unknown as boolean }), TypeError);
  const out = pub.loan();
  const kept = out.bytes;
  kept[0] = 5;
  out.publish(1);
  assert.equal(out.bytes.length, 0, "the sample says it is done");
  assert.equal(kept.length, 16, "the saved view stays");
  const got = sub.receive(0)!;
  const seen = got.bytes;
  got.release();
  assert.equal(got.bytes.length, 0);
  assert.equal(seen[0], 5);
  sub.close();
  assert.equal(seen.length, 0, "closing the port detaches");
  pub.close();
  assert.equal(kept.length, 0);
});

test("pubsub: a view the user transferred away is released without harm, and the next one is fresh", () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 16, depth: 1, loans: 1, borrows: 1, subscribers: 1 });
  using sub = Subscriber.open(name);
  for (let round = 0; round < 3; round++) {
    const out = pub.loan();
    out.bytes[0] = round;
    out.publish();
    const got = sub.receive(0)!;
    const moved = (got.bytes.buffer as ArrayBuffer).transfer(); // still points into the mapping
    assert.equal(new Uint8Array(moved)[0], round);
    got.release();
    assert.equal(got.bytes.length, 0);
  }
});

test("pubsub: closing a subscriber ends its pending async receive at once", async () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 8 });
  const sub = Subscriber.open(name);
  const pending = sub.receiveAsync(10_000);
  await new Promise((r) => setTimeout(r, 10));
  sub.close();
  await assert.rejects(pending, isCode("ERR_USE_AFTER_CLOSE"));
  assert.equal(pub.subscribers, 0);
});
