// A hostile peer: random words of a live service's shared state overwritten with random values between calls. Every
// call then succeeds or throws one of the documented errors, within its timeout; nothing hangs or reads out of bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Publisher, Segment, ShmError, Subscriber } from "../mod.ts";
import { describeService } from "../service/list.ts";
import { testName } from "./helpers.ts";

const EXPECTED = new Set(["ERR_SERVICE_INVALID", "ERR_SAMPLE_LIMIT", "ERR_SERVICE_FULL", "ERR_PUBLISHER_GONE"]);

/** xorshift32: the same run every time. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** How often each documented error came up: the corruption must reach the checks. */
const seen = new Map<string, number>();

function tolerate(what: string, call: () => unknown): void {
  try {
    call();
  } catch (error) {
    if (error instanceof ShmError && EXPECTED.has(error.code)) {
      seen.set(error.code, (seen.get(error.code) ?? 0) + 1);
      return;
    }
    if (error instanceof RangeError && /Sample length/.test(error.message)) return;
    throw new Error(`${what} threw something undocumented: ${error}`);
  }
}

test("pubsub: 1,000 rounds of random corruption give documented errors, never a hang or a crash", () => {
  const next = random(12345);
  for (let round = 0; round < 1000; round++) {
    const name = testName();
    const pub = Publisher.create(name, {
      sampleSize: 40,
      subscribers: 2,
      depth: 3,
      history: round % 2,
      policy: round % 3 === 0 ? "drop-oldest" : "block",
    });
    const sub = Subscriber.open(name);
    const raw = Segment.open(name);
    try {
      pub.loan().publish(8);
      // The words a peer shares: control (not the lock: a random live owner makes every call wait its second),
      // slots, rings, records, history.
      const payloadOffset = raw.region(64 + 48, 4).array(Uint32Array)[0];
      const layout = raw.region(64, payloadOffset).array(Int32Array);
      for (let k = 0; k < 3; k++) {
        let at = next() % layout.length;
        if (at >= 16 && at < 20) at = 0; // the control lock's 16 bytes
        const values = [next(), -1, 0, 1, 0x7fffffff, next() % 64];
        layout[at] = values[next() % values.length];
      }
      tolerate("receive", () => sub.receive(0)?.release());
      tolerate("loan/publish", () => {
        const s = pub.loan();
        if (!s.publish(next() % 41, 0)) s.discard();
      });
      tolerate("receive again", () => sub.receive(0)?.release());
      tolerate("open", () => Subscriber.open(name, { timeoutMs: 0 }).close());
      tolerate("describe", () => describeService(name));
    } finally {
      raw.close();
      sub.close();
      pub.close();
    }
  }
  assert.ok((seen.get("ERR_SERVICE_INVALID") ?? 0) > 150, `corruption was caught: ${JSON.stringify([...seen])}`);
});
