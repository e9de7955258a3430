// Child: a publish-subscribe service larger than 4 GiB (three samples of 1.45 GB) is created, opened, listed and
// used in every runtime; Bun cannot make one view past 4 GiB, so nothing may take a view of the whole service.
import assert from "node:assert/strict";
import { listServices, Publisher, Segment, Subscriber } from "../../mod.ts";
import { describeService } from "../../service/list.ts";
import { headerOf } from "../../service/header.ts";
import { PUBSUB_VERSION } from "../../pubsub/layout.ts";

const [name, sampleArg] = process.argv.slice(2);
const sampleSize = Number(sampleArg);
const pub = Publisher.create(name, { sampleSize, subscribers: 1, depth: 1, loans: 1, borrows: 1 });
const sub = Subscriber.open(name, { timeoutMs: 5000 });
const size = Segment.open(name, { readOnly: true });
const header = headerOf(size);
assert.ok(typeof header === "object" && header.totalBytes > 2 ** 32, `${JSON.stringify(header)}: past 4 GiB`);
size.close();
const { size: bytes, ...info } = describeService(name) ?? { size: 0 };
assert.ok(bytes > 2 ** 32, `${bytes} bytes`);
assert.deepEqual(info, {
  name,
  kind: "publish-subscribe",
  version: PUBSUB_VERSION,
  capacity: 1,
  payloadBytes: sampleSize,
  live: { publishers: 1, subscribers: 1 },
});
assert.equal(listServices().find((s) => s.name === name)?.payloadBytes, sampleSize);
// Every sample of the pool in turn, the last one ending past 4 GiB: its first and last bytes go across.
for (let round = 1; round <= pub.layout.samples + 1; round++) {
  const out = pub.loan();
  out.bytes[0] = round;
  out.bytes[sampleSize - 1] = round + 100;
  assert.ok(out.publish(sampleSize, 5000));
  const got = sub.receive(5000);
  assert.ok(got !== null);
  assert.deepEqual([got.bytes.length, got.bytes[0], got.bytes[sampleSize - 1]], [sampleSize, round, round + 100]);
  got.release();
}
sub.close();
pub.close();
assert.equal(describeService(name), undefined, "closed: the name is gone");
console.log(JSON.stringify({ totalBytes: header.totalBytes, samples: pub.layout.samples }));
