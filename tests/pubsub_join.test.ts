// The join race: subscribers join and leave while a publisher in another process publishes without the lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShmError, Subscriber } from "../mod.ts";
import { child, ok, RUNTIMES, testName } from "./helpers.ts";
import { start } from "./live_child.ts";

for (const runtime of RUNTIMES) {
  test(`pubsub: a subscriber that joins a ${runtime} publisher mid-stream sees its history, then every later sample once`, async () => {
    const name = testName();
    const publisher = start(runtime, child("pubsub_flood.ts"), [name, "1500"]);
    await publisher.ready;
    let joins = 0;
    let received = 0;
    try {
      for (let gone = false; !gone;) {
        let sub: Subscriber;
        try {
          sub = Subscriber.open(name);
        } catch (error) {
          if (error instanceof ShmError && error.code === "ENOENT") break; // it closed
          throw error;
        }
        joins++;
        try {
          let last = -1;
          for (let k = 0; k < 20 + (joins % 7); k++) {
            const sample = sub.receive(5000);
            assert.ok(sample, "a sample within 5 s");
            const seq = new DataView(sample.bytes.buffer, sample.bytes.byteOffset, 4).getUint32(0, true);
            assert.equal(seq, sample.sequence);
            if (last >= 0) assert.equal(seq, last + 1, `join ${joins}: after ${last} came ${seq}`);
            last = seq;
            received++;
            sample.release();
          }
        } catch (error) {
          if (!(error instanceof ShmError && error.code === "ERR_PUBLISHER_GONE")) throw error;
          gone = true;
        } finally {
          sub.close();
        }
      }
    } finally {
      const r = await publisher.ended;
      ok(r, "publisher");
    }
    assert.ok(joins >= 10, `only ${joins} joins`);
    assert.ok(received > 0);
  });
}
