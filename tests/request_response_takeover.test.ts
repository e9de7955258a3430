// A connecting client takes over the slot of a client that left or died, without the server receiving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestClient, RequestServer, Segment } from "../mod.ts";
import { readServiceHeader } from "../service/header.ts";
import type { ServiceHeader } from "../service/header.ts";
import { describeRequestResponse } from "../request_response/describe.ts";
import { BLOCK, blockAt, layoutOf } from "../request_response/layout.ts";
import { child, RUNTIMES, testName } from "./helpers.ts";
import { start } from "./live_child.ts";

const peer = child("reqres_peer.ts");

function liveClients(name: string): number {
  using seg = Segment.open(name, { readOnly: true });
  return describeRequestResponse(seg, readServiceHeader(seg.bytes()) as ServiceHeader).live.clients;
}

/** A request from `client` carrying `byte`, answered by `server` with `byte + 1`. */
async function roundTrip(server: RequestServer, client: RequestClient, byte: number): Promise<void> {
  const loaned = client.loan()!;
  loaned.bytes[0] = byte;
  const reply = client.request(loaned, { length: 1, timeoutMs: 5000 });
  const request = server.receive(1000)!;
  assert.deepEqual([...request.bytes], [byte], "the new client's request, not a stale one");
  assert.equal(request.respond(Uint8Array.of(byte + 1)), true);
  using response = await reply;
  assert.equal(response.bytes[0], byte + 1);
  assert.equal(server.receive(0), null, "nothing else queued");
}

test("request-response: a client that left is replaced in its slot without the server receiving", async () => {
  const name = testName();
  using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
  const first = RequestClient.connect(name);
  const reply = first.request(first.loan()!, { length: 0, timeoutMs: 5000 });
  const old = server.receive(1000)!;
  const unsent = first.request(first.loan()!, { length: 0, timeoutMs: 5000 }); // queued, never taken
  first.close();
  await Promise.allSettled([reply, unsent]);
  assert.equal(liveClients(name), 0, "a client that left is not counted");
  using second = RequestClient.connect(name, { timeoutMs: 100 }); // same process: same identity, new generation
  assert.equal(second.slot, 0);
  assert.equal(old.respond(Uint8Array.of(1)), false, "the old client's request went with it");
  await roundTrip(server, second, 5);
  assert.equal(server.connected, 1);
});

for (const runtime of RUNTIMES) {
  for (const seen of [true, false]) {
    test(`request-response: a ${runtime} client killed with SIGKILL ${seen ? "after" : "before"} the server took its request is replaced without the server receiving`, async () => {
      const name = testName();
      using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
      const held = start(runtime, peer, ["hold", name]);
      try {
        await held.ready;
        const old = seen ? server.receive(5000) : null;
        const view = old?.bytes;
        assert.equal(liveClients(name), 1);
        held.process.kill("SIGKILL");
        await held.ended;
        assert.equal(liveClients(name), 0, "a dead client is not counted as live");
        using next = RequestClient.connect(name, { timeoutMs: 2000 });
        assert.equal(next.slot, 0, "the dead client's slot, taken over");
        assert.equal(liveClients(name), 1);
        if (old !== null) {
          assert.equal(old.respond(Uint8Array.of(1)), false, "its request was dropped");
          assert.equal(view!.byteLength, 0, "and its views detached");
        }
        await roundTrip(server, next, 40);
        assert.equal(server.connected, 1);
      } finally {
        held.process.kill("SIGKILL");
      }
    });
  }
}

test("request-response: a process that died holding a slot's lock does not wedge the slot", async () => {
  const name = testName();
  using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
  const held = start("node", peer, ["hold", name]);
  try {
    await held.ready;
    assert.notEqual(server.receive(5000), null);
    held.process.kill("SIGKILL");
    await held.ended;
    // As if the dead client had died halfway through taking a slot over: its identity in the slot's lock.
    using seg = Segment.open(name);
    const at = blockAt(layoutOf({ clients: 1, inFlight: 4, requestSize: 16, responseSize: 16 }), 0);
    const words = seg.region(at, 64).array(BigInt64Array);
    const dead = Atomics.load(words, BLOCK.owner / 8);
    Atomics.store(words, BLOCK.lock / 8, dead);
    using next = RequestClient.connect(name, { timeoutMs: 2000 });
    assert.equal(next.slot, 0);
    assert.equal(Atomics.load(words, BLOCK.lock / 8), 0n, "the lock is free again");
    await roundTrip(server, next, 7);
    // And the server, finding the lock held by a dead process, takes it too.
    Atomics.store(words, BLOCK.lock / 8, dead);
    await roundTrip(server, next, 8);
  } finally {
    held.process.kill("SIGKILL");
  }
});

test("request-response: clients that leave and are replaced at once, while a server in another process serves", async () => {
  const name = testName();
  const rounds = 150;
  const s = start("node", peer, ["server", name, "1", String(rounds)]);
  try {
    await s.ready;
    for (let i = 0; i < rounds; i++) {
      // The previous client left a moment ago: this one takes its slot over, or finds it freed by the server.
      const client = RequestClient.connect(name, { timeoutMs: 5000 });
      const n = i * 5 + 1; // never a streamed one (see reqres_peer.ts)
      const loaned = client.loan()!;
      const v = new DataView(loaned.bytes.buffer, loaned.bytes.byteOffset, 16);
      v.setUint32(0, n, true);
      for (let k = 4; k < 8; k++) v.setUint8(k, (n + k) & 255);
      const response = client.requestSync(loaned, { length: 8, timeoutMs: 5000 });
      const r = new DataView(response.bytes.buffer, response.bytes.byteOffset, 12);
      assert.equal(r.getUint32(0, true), n, `round ${i}`);
      response.release();
      client.close();
    }
    const ended = await s.ended;
    assert.equal(ended.status, 0, ended.stderr);
  } finally {
    s.process.kill("SIGKILL");
  }
});
