import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestClient, RequestServer, Segment, ShmError } from "../mod.ts";
import { BLOCK, layoutOf, requestEntryAt, requestSlotAt, responseEntryAt } from "../request_response/layout.ts";
import { blockAt } from "../request_response/layout.ts";
import { child, ok, runAsync, RUNTIMES, testName } from "./helpers.ts";
import { start } from "./live_child.ts";

const peer = child("reqres_peer.ts");
const isCode = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The last line a child printed, as JSON. */
const last = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!);

function serve(clients = 2, inFlight = 4) {
  const name = testName();
  const server = RequestServer.serve(name, { clients, requestSize: 64, responseSize: 32, inFlight });
  return { name, server };
}

test("request-response: bad options are refused before anything is created", () => {
  const name = testName();
  const bad: [unknown, unknown][] = [
    [undefined, TypeError],
    [{ clients: 0, requestSize: 8 }, RangeError],
    [{ clients: 257, requestSize: 8 }, RangeError],
    [{ clients: 1, requestSize: 0 }, RangeError],
    [{ clients: 1, requestSize: 8, inFlight: 65 }, RangeError],
    [{ clients: 1, requestSize: 8, responseSize: 1.5 }, RangeError],
    [{ clients: "1", requestSize: 8 }, TypeError],
    [{ clients: 1, requestSize: 8, inflight: 2 }, TypeError],
  ];
  for (const [options, type] of bad) {
    assert.throws(() => RequestServer.serve(name, options as never), type as never, JSON.stringify(options));
  }
  assert.throws(() => Segment.open(name), isCode("ENOENT"), "nothing was created");
  assert.throws(() => RequestClient.connect(name), isCode("ENOENT"));
});

test("request-response: correlation with several requests in flight, answered out of order", async () => {
  const { name, server } = serve(2, 4);
  using _ = server;
  using client = RequestClient.connect(name);
  assert.equal(server.connected, 1);
  const replies = [0, 1, 2, 3].map((i) => {
    const request = client.loan()!;
    request.bytes[0] = i;
    return client.request(request, { length: 1, timeoutMs: 5000 });
  });
  assert.equal(client.loan(), null, "all four slots in flight");
  assert.equal(client.pending, 4);
  const received = [0, 1, 2, 3].map(() => server.receive(1000)!);
  assert.equal(server.receive(0), null);
  for (const r of received.reverse()) r.respond(Uint8Array.of(r.bytes[0] * 10));
  const got = await Promise.all(replies);
  assert.deepEqual(got.map((r) => r.bytes[0]), [0, 10, 20, 30]);
  for (const r of got) r.release();
  assert.equal(client.pending, 0);
  assert.notEqual(client.loan(), null, "slots came back");
});

test("request-response: zero copy, streams, drops and detached views", async () => {
  const { name, server } = serve(1, 2);
  using _ = server;
  const client = RequestClient.connect(name);
  const loaned = client.loan()!;
  const view = loaned.bytes;
  view.set([7, 8, 9]);
  const parts = client.stream(loaned, { length: 3, timeoutMs: 5000 });
  assert.throws(() => loaned.bytes, isCode("ERR_USE_AFTER_CLOSE"), "sent: no more writes");
  const request = server.receive(1000)!;
  assert.deepEqual([...request.bytes], [7, 8, 9]);
  using seg = Segment.open(name);
  const slot = requestSlotAt(layoutOf({ clients: 1, inFlight: 2, requestSize: 64, responseSize: 32 }), 0, 0);
  request.bytes[1] = 42;
  assert.equal(seg.bytes()[slot + 1], 42, "a view of the shared slot itself: no copy");
  const got: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i === 2 || i === 4) {
      // The response queue holds 2: the server waits for room (with a timeout) until the client releases.
      assert.throws(() => request.loanResponse(30), isCode("ERR_REQUEST_TIMEOUT"));
      for (let k = 0; k < 2; k++) {
        const part = (await parts.next()).value!;
        got.push(part.bytes[0]);
        part.release();
      }
    }
    const out = request.loanResponse(1000)!;
    out[0] = i;
    assert.equal(request.sendResponse(1, { last: i === 4 }), true);
  }
  for await (const part of parts) {
    got.push(part.bytes[0]);
    part.release();
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  assert.equal(request.done, true);
  assert.throws(() => request.bytes, isCode("ERR_USE_AFTER_CLOSE"));
  const dropped = client.request(client.loan()!, { length: 0, timeoutMs: 5000 });
  const r2 = server.receive(1000)!;
  r2.release();
  await assert.rejects(dropped, isCode("ERR_REQUEST_DROPPED"));
  const held = client.request(client.loan()!, { length: 0, timeoutMs: 5000 });
  server.receive(1000)!.respond(Uint8Array.of(5));
  const response = await held;
  const bytes = response.bytes;
  client.close();
  assert.equal(bytes.length, 0, "closing the client detaches its views");
  assert.throws(() => client.loan(), isCode("ERR_USE_AFTER_CLOSE"));
});

test("request-response: a sent request, an answered or released request and a released response detach every view they gave", async () => {
  const { name, server } = serve(1, 2);
  using _ = server;
  using client = RequestClient.connect(name);
  const loaned = client.loan()!;
  const written = loaned.bytes;
  written[0] = 1;
  const reply = client.request(loaned, { length: 1, timeoutMs: 5000 });
  assert.equal(
    written.byteLength,
    0,
    "a sent request's view is detached: the client cannot write what the server reads",
  );
  const request = server.receive(1000)!;
  const read = request.bytes;
  assert.equal(read[0], 1);
  const out = request.loanResponse(1000)!;
  out[0] = 2;
  assert.equal(request.sendResponse(1, { last: false }), true);
  assert.equal(out.byteLength, 0, "a sent response's view is detached");
  assert.equal(read.byteLength, 1, "the request is still being answered");
  assert.equal(request.respond(Uint8Array.of(3)), true);
  assert.equal(read.byteLength, 0, "an answered request's view is detached");
  const first = await reply;
  const seen = first.bytes;
  assert.equal(seen[0], 2);
  first.release();
  assert.equal(seen.byteLength, 0, "a released response's view is detached");
  assert.equal(seen[0], undefined);

  // Released unanswered, with a response loaned: both views go.
  const dropped = client.request(client.loan()!, { length: 0, timeoutMs: 5000 });
  const r2 = server.receive(1000)!;
  const r2bytes = r2.bytes;
  const r2out = r2.loanResponse(1000)!;
  r2.release();
  assert.equal(r2bytes.byteLength + r2out.byteLength, 0);
  await assert.rejects(dropped, isCode("ERR_REQUEST_DROPPED"));

  // The slot's next use gets a live view again.
  const again = client.request(client.loan()!, { length: 0, timeoutMs: 5000 });
  const r3 = server.receive(1000)!;
  const r3out = r3.loanResponse(1000)!;
  r3out[0] = 9;
  r3.sendResponse(1);
  using third = await again;
  assert.equal(third.bytes[0], 9);
});

test("request-response: detach: false keeps views until the port closes", async () => {
  const name = testName();
  const server = RequestServer.serve(name, { clients: 1, requestSize: 8, detach: false });
  const client = RequestClient.connect(name, { detach: false });
  const loaned = client.loan()!;
  const written = loaned.bytes;
  const reply = client.request(loaned, { length: 1, timeoutMs: 5000 });
  const request = server.receive(1000)!;
  const read = request.bytes;
  request.respond(Uint8Array.of(4));
  const response = await reply;
  const seen = response.bytes;
  response.release();
  assert.deepEqual([written.byteLength, read.byteLength, seen.byteLength, seen[0]], [8, 1, 1, 4]);
  assert.throws(() => RequestClient.connect(name, { detach: 1 as never }), TypeError);
  client.close();
  server.close();
  assert.deepEqual([written.byteLength, read.byteLength, seen.byteLength], [0, 0, 0], "closing detaches them");
});

test("request-response: a timed-out request's late answer is released, leaking no slot", async () => {
  const { name, server } = serve(1, 1);
  using _ = server;
  using client = RequestClient.connect(name);
  await assert.rejects(client.request(client.loan()!, { timeoutMs: 20 }), isCode("ERR_REQUEST_TIMEOUT"));
  assert.equal(client.loan(), null, "its slot is still the server's");
  server.receive(1000)!.respond(Uint8Array.of(1));
  const again = client.loan();
  assert.notEqual(again, null, "the late answer freed the slot");
  const reply = client.request(again!, { length: 0, timeoutMs: 5000 });
  server.receive(1000)!.respond(Uint8Array.of(2));
  assert.equal((await reply).bytes[0], 2);
});

test("request-response: server close fails pending requests with ERR_SERVER_GONE; the name is free again", async () => {
  const { name, server } = serve();
  const client = RequestClient.connect(name);
  const pending = client.request(client.loan()!, { timeoutMs: 5000 });
  assert.notEqual(server.receive(1000), null);
  server.close();
  await assert.rejects(pending, isCode("ERR_SERVER_GONE"));
  assert.throws(() => client.requestSync(client.loan()!), isCode("ERR_SERVER_GONE"));
  client.close();
  assert.throws(() => RequestClient.connect(name), isCode("ENOENT"));
  using again = RequestServer.serve(name, { clients: 1, requestSize: 8 });
  assert.equal(again.clients, 1);
});

test("request-response: answering after the server closed throws ERR_USE_AFTER_CLOSE; releasing is a no-op", async () => {
  const { name, server } = serve(1);
  using client = RequestClient.connect(name);
  const replies = [0, 1, 2, 3].map(() => client.request(client.loan()!, { length: 0, timeoutMs: 5000 }));
  const [a, b, c, d] = [0, 1, 2, 3].map(() => server.receive(1000)!);
  const loaned = b.loanResponse(1000)!;
  server.close();
  assert.equal(loaned.byteLength, 0);
  assert.throws(() => a.respond(Uint8Array.of(1)), isCode("ERR_USE_AFTER_CLOSE"));
  assert.equal(a.done, true);
  assert.throws(() => b.sendResponse(1), isCode("ERR_USE_AFTER_CLOSE"));
  assert.throws(() => c.loanResponse(10), isCode("ERR_USE_AFTER_CLOSE"));
  d.release();
  d.release();
  assert.equal(d.done, true);
  await Promise.all(replies.map((reply) => assert.rejects(reply, isCode("ERR_SERVER_GONE"))));
});

test("request-response: a client that leaves frees its slot for the next one", () => {
  const { name, server } = serve(1);
  using _ = server;
  const first = RequestClient.connect(name);
  assert.throws(() => RequestClient.connect(name, { timeoutMs: 30 }), isCode("ERR_SERVICE_FULL"));
  first.close();
  assert.equal(server.receive(20), null);
  assert.equal(server.connected, 0);
  using second = RequestClient.connect(name, { timeoutMs: 100 });
  assert.equal(second.slot, 0);
});

test("request-response: corrupt queues throw ERR_SERVICE_INVALID on both ends", async () => {
  const { name, server } = serve(1, 2);
  using _ = server;
  using client = RequestClient.connect(name);
  const l = layoutOf({ clients: 1, inFlight: 2, requestSize: 64, responseSize: 32 });
  using raw = Segment.open(name);
  const view = raw.region(0).view();
  const words = raw.region(0, l.payloadAt).array(Int32Array);
  const reqHead = (blockAt(l, 0) + BLOCK.reqHead) / 4;
  Atomics.store(words, reqHead, 100);
  assert.throws(() => server.receive(0), isCode("ERR_SERVICE_INVALID"), "a head far ahead");
  Atomics.store(words, reqHead, 1);
  view.setUint32(requestEntryAt(l, 0, 0) + 4, 9, true);
  assert.throws(() => server.receive(0), isCode("ERR_SERVICE_INVALID"), "a slot out of range");
  view.setUint32(requestEntryAt(l, 0, 0) + 4, 0, true);
  view.setUint32(requestEntryAt(l, 0, 0) + 8, 65, true);
  assert.throws(() => server.receive(0), isCode("ERR_SERVICE_INVALID"), "a length past the slot");
  Atomics.store(words, reqHead, 0);
  const reply = client.request(client.loan()!, { length: 1, timeoutMs: 2000 });
  const resHead = (blockAt(l, 0) + BLOCK.resHead) / 4;
  view.setUint32(responseEntryAt(l, 0, 0), 12345, true); // a response to an id not in flight
  view.setUint32(responseEntryAt(l, 0, 0) + 12, 1, true);
  Atomics.store(words, resHead, 1);
  await assert.rejects(reply, isCode("ERR_SERVICE_INVALID"));
});

for (const serverRuntime of RUNTIMES) {
  for (const clientRuntime of RUNTIMES) {
    test(`request-response: a ${serverRuntime} server answers ${clientRuntime} clients (sync, async, streams)`, async () => {
      const name = testName();
      const s = start(serverRuntime, peer, ["server", name, "2", "120"]);
      try {
        await s.ready;
        const clients = [
          runAsync(clientRuntime, peer, ["client", name, "60"]),
          runAsync(clientRuntime, peer, ["client", name, "60"]),
        ];
        for (const c of await Promise.all(clients)) assert.deepEqual(JSON.parse(ok(c, clientRuntime)), { done: 60 });
        const result = await s.ended;
        assert.deepEqual(last(ok(result, serverRuntime)), { served: 120 });
      } finally {
        s.process.kill("SIGKILL");
      }
    });
  }
}

for (const [serverRuntime, clientRuntime] of [["deno", "bun"], ["bun", "node"], ["node", "deno"]] as const) {
  const killed = serverRuntime; // the killed client's runtime, each in turn
  test(`request-response: a ${killed} client killed with SIGKILL leaks no slot and drops its requests`, async () => {
    const { name, server } = serve(1);
    using _ = server;
    const held = start(killed, peer, ["hold", name]);
    try {
      await held.ready;
      const request = server.receive(5000)!;
      const view = request.bytes;
      assert.equal(server.connected, 1);
      held.process.kill("SIGKILL");
      await held.ended;
      for (let i = 0; i < 100 && server.connected > 0; i++) server.receive(20);
      assert.equal(server.connected, 0, "the dead client's slot was freed");
      assert.equal(view.byteLength, 0, "freeing the slot detached the views of its requests");
      assert.equal(request.respond(Uint8Array.of(1)), false, "its request was dropped");
      using next = RequestClient.connect(name, { timeoutMs: 2000 });
      assert.equal(next.slot, 0);
    } finally {
      held.process.kill("SIGKILL");
    }
  });

  test(`request-response: a ${serverRuntime} server killed with SIGKILL fails a ${clientRuntime} client's request; collect removes it`, async () => {
    const name = testName();
    const s = start(serverRuntime, peer, ["serve-hold", name]);
    try {
      await s.ready;
      const waiter = start(clientRuntime, peer, ["wait", name]);
      await waiter.ready;
      await sleep(50);
      s.process.kill("SIGKILL");
      await s.ended;
      const line = last(ok(await waiter.ended, clientRuntime));
      assert.equal(line.error, "ERR_SERVER_GONE");
      assert.ok(line.ms < 5000, `failed after ${line.ms} ms`);
      const removed = Segment.collect({ graceMs: 0, prefix: name });
      assert.deepEqual(removed.map((r) => r.name), [name]);
    } finally {
      s.process.kill("SIGKILL");
    }
  });
}

test("request-response: a name whose server was killed is taken over by the next serve", async () => {
  const name = testName();
  const s = start("node", peer, ["serve-hold", name]);
  try {
    await s.ready;
    const orphan = RequestClient.connect(name);
    s.process.kill("SIGKILL");
    await s.ended;
    assert.throws(() => orphan.requestSync(orphan.loan()!, { timeoutMs: 5000 }), isCode("ERR_SERVER_GONE"));
    using server = RequestServer.serve(name, { clients: 1, requestSize: 8 });
    using client = RequestClient.connect(name);
    const reply = client.request(client.loan()!, { length: 0, timeoutMs: 5000 });
    server.receive(1000)!.respond(Uint8Array.of(3));
    assert.equal((await reply).bytes[0], 3);
    orphan.close();
  } finally {
    s.process.kill("SIGKILL");
  }
});
