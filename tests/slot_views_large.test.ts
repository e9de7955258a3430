// Views of large slots (1 MiB samples, 64 KiB requests and responses) follow the detach rule as small ones do, over
// many reuses of every slot: once a sample, request or response is published, sent, answered or released, each view it
// handed out reads as length 0; a view transferred away leaves the next view a fresh buffer; closing detaches the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Publisher, RequestClient, RequestServer, Subscriber } from "../mod.ts";
import { testName } from "./helpers.ts";

const ROUNDS = 64;
const MiB = 1 << 20;
const KiB64 = 1 << 16;

/** Marks the first and last byte of `bytes` for `round`. */
function mark(bytes: Uint8Array, round: number): void {
  bytes[0] = round & 0xff;
  bytes[bytes.length - 1] = ~round & 0xff;
}

/** Whether `bytes` carries the marks of `round`. */
function marked(bytes: Uint8Array, round: number): boolean {
  return bytes[0] === (round & 0xff) && bytes[bytes.length - 1] === (~round & 0xff);
}

test("large slots: pub-sub views of 1 MiB samples detach on publish, discard, release and close", () => {
  const name = testName();
  const pub = Publisher.create(name, { sampleSize: MiB, depth: 2 });
  const sub = Subscriber.open(name);
  for (let round = 0; round < ROUNDS; round++) {
    const loan = pub.loan();
    const written = loan.bytes;
    assert.equal(written.byteLength, MiB, "every loan of a slot gets a live view of the whole sample");
    mark(written, round);
    assert.equal(loan.publish(), true);
    assert.equal(written.byteLength, 0, "a published loan's view is detached");
    const got = sub.receive(1000)!;
    const read = got.bytes;
    assert.equal(read.byteLength, MiB);
    assert.ok(marked(read, round), "the subscriber reads what was written, in place");
    got.release();
    assert.equal(read.byteLength, 0, "a released sample's view is detached");
    assert.equal(read[0], undefined);
  }

  // A view the user transferred away: later loans of its slot still get live views of fresh buffers.
  const taken = pub.loan();
  const moved = (taken.bytes.buffer as ArrayBuffer).transfer();
  assert.equal(moved.byteLength, MiB);
  taken.discard();
  for (let round = 0; round < ROUNDS; round++) {
    const loan = pub.loan();
    assert.equal(loan.bytes.byteLength, MiB);
    loan.discard();
    assert.equal(loan.bytes.byteLength, 0, "a discarded loan's view is detached");
  }

  const loaned = pub.loan().bytes;
  pub.loan().publish(1);
  const held = sub.receive(1000)!.bytes;
  assert.equal(held.byteLength, 1);
  sub.close();
  assert.equal(held.byteLength, 0, "closing the subscriber detaches the samples it holds");
  pub.close();
  assert.equal(loaned.byteLength, 0, "closing the publisher detaches its loans");
});

test("large slots: request-response views of 64 KiB slots detach on send, answer, release and close", async () => {
  const name = testName();
  const server = RequestServer.serve(name, { clients: 1, requestSize: KiB64, responseSize: KiB64, inFlight: 2 });
  const client = RequestClient.connect(name);
  for (let round = 0; round < ROUNDS; round++) {
    const loaned = client.loan()!;
    const written = loaned.bytes;
    assert.equal(written.byteLength, KiB64);
    mark(written, round);
    const reply = client.request(loaned, { timeoutMs: 5000 });
    assert.equal(written.byteLength, 0, "a sent request's view is detached");
    const request = server.receive(1000)!;
    const read = request.bytes;
    assert.equal(read.byteLength, KiB64);
    assert.ok(marked(read, round), "the server reads the request in place");
    const out = request.loanResponse(1000)!;
    assert.equal(out.byteLength, KiB64);
    mark(out, round + 1);
    assert.equal(request.sendResponse(KiB64), true);
    assert.equal(out.byteLength, 0, "a sent response's view is detached");
    assert.equal(read.byteLength, 0, "an answered request's view is detached");
    const response = await reply;
    const seen = response.bytes;
    assert.equal(seen.byteLength, KiB64);
    assert.ok(marked(seen, round + 1), "the client reads the response in place");
    response.release();
    assert.equal(seen.byteLength, 0, "a released response's view is detached");
  }

  // A view the user transferred away: the same loan's next view is a fresh buffer over the same slot.
  const loaned = client.loan()!;
  const moved = (loaned.bytes.buffer as ArrayBuffer).transfer();
  assert.equal(moved.byteLength, KiB64);
  const fresh = loaned.bytes;
  assert.equal(fresh.byteLength, KiB64);
  new Uint8Array(moved)[0] = 7;
  assert.equal(fresh[0], 7, "the fresh view is over the same memory");
  const reply = client.request(loaned, { length: 1, timeoutMs: 5000 });
  assert.equal(fresh.byteLength, 0, "the fresh view detaches when the request is sent");
  const request = server.receive(1000)!;
  const read = request.bytes;
  const out = request.loanResponse(1000)!;
  assert.equal(read[0], 7);
  const pending = client.loan()!.bytes;
  assert.equal(pending.byteLength, KiB64);
  client.close();
  await reply.catch(() => undefined);
  assert.equal(pending.byteLength, 0, "closing the client detaches its loans");
  server.close();
  assert.deepEqual([read.byteLength, out.byteLength], [0, 0], "closing the server detaches its views");
});
