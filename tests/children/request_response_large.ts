// Child: a request-response service larger than 4 GiB (one client, two requests in flight, 1 GiB request and
// response slots) is served, connected to, described, listed and used in every runtime; Bun cannot make one view
// past 4 GiB, so nothing may take a view of the whole service. The last response slot ends past 4 GiB.
import assert from "node:assert/strict";
import { listServices, RequestClient, RequestServer, Segment } from "../../mod.ts";
import { describeService } from "../../service/list.ts";
import { headerOf } from "../../service/header.ts";

const [name, slotArg] = process.argv.slice(2);
const size = Number(slotArg);
const server = RequestServer.serve(name, { clients: 1, requestSize: size, inFlight: 2 });
const client = RequestClient.connect(name, { timeoutMs: 5000 });
const seg = Segment.open(name, { readOnly: true });
const header = headerOf(seg);
assert.ok(typeof header === "object" && header.totalBytes > 2 ** 32, `${JSON.stringify(header)}: past 4 GiB`);
seg.close();
const { size: bytes, ...info } = describeService(name) ?? { size: 0 };
assert.ok(bytes > 2 ** 32, `${bytes} bytes`);
assert.deepEqual(info, {
  name,
  kind: "request-response",
  version: 1,
  capacity: 1,
  payloadBytes: size,
  live: { servers: 1, clients: 1 },
});
assert.equal(listServices().find((s) => s.name === name)?.payloadBytes, size);
// Both request and both response slots in turn, the last response slot ending past 4 GiB: its first and last
// bytes go across, written through a loaned response and through respond().
for (let round = 1; round <= 4; round++) {
  const request = client.loan();
  assert.ok(request !== null);
  request.bytes[0] = round;
  request.bytes[size - 1] = round + 100;
  const reply = client.request(request, { timeoutMs: 5000 });
  const got = server.receive(5000);
  assert.ok(got !== null);
  assert.deepEqual([got.bytes.length, got.bytes[0], got.bytes[size - 1]], [size, round, round + 100]);
  if (round % 2 === 1) {
    const out = got.loanResponse(5000);
    assert.ok(out !== null);
    out[0] = round + 1;
    out[size - 1] = round + 101;
    assert.ok(got.sendResponse(size));
  } else {
    assert.ok(got.respond(Uint8Array.of(round + 1, round + 2)));
  }
  const response = await reply;
  const last = round % 2 === 1 ? [size, round + 1, round + 101] : [2, round + 1, round + 2];
  assert.deepEqual([response.bytes.length, response.bytes[0], response.bytes[response.bytes.length - 1]], last);
  response.release();
}
client.close();
server.close();
assert.equal(describeService(name), undefined, "closed: the name is gone");
console.log(JSON.stringify({ totalBytes: header.totalBytes }));
