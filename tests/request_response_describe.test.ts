import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestClient, RequestServer, Segment, ShmError } from "../mod.ts";
import { readServiceHeader } from "../service/header.ts";
import type { ServiceHeader } from "../service/header.ts";
import { describeRequestResponse } from "../request_response/describe.ts";
import { LAYOUT_OFFSET, RECORD } from "../request_response/layout.ts";
import { testName } from "./helpers.ts";

function summary(name: string) {
  using seg = Segment.open(name, { readOnly: true });
  const header = readServiceHeader(seg.bytes()) as ServiceHeader;
  return describeRequestResponse(seg, header);
}

test("describeRequestResponse: capacity, request size, live server and clients", () => {
  const name = testName();
  const server = RequestServer.serve(name, { clients: 3, requestSize: 100, responseSize: 10 });
  assert.deepEqual(summary(name), { capacity: 3, payloadBytes: 100, live: { servers: 1, clients: 0 } });
  const a = RequestClient.connect(name);
  using _b = RequestClient.connect(name);
  assert.deepEqual(summary(name).live, { servers: 1, clients: 2 });
  a.close();
  server.receive(0);
  assert.deepEqual(summary(name).live, { servers: 1, clients: 1 });
  using seg = Segment.open(name);
  server.close();
  const header = readServiceHeader(seg.bytes()) as ServiceHeader;
  assert.deepEqual(describeRequestResponse(seg, header).live, { servers: 0, clients: 1 }, "closed");
});

test("describeRequestResponse: a corrupt record is ERR_SERVICE_INVALID", () => {
  const name = testName();
  using server = RequestServer.serve(name, { clients: 2, requestSize: 8 });
  using seg = Segment.open(name);
  const header = readServiceHeader(seg.bytes()) as ServiceHeader;
  seg.region(LAYOUT_OFFSET + RECORD.clients, 4).view().setUint32(0, 9999, true);
  assert.throws(
    () => describeRequestResponse(seg, header),
    (e: unknown) => e instanceof ShmError && e.code === "ERR_SERVICE_INVALID",
  );
  assert.equal(server.clients, 2);
});
