import { test } from "node:test";
import assert from "node:assert/strict";
import { ShmError } from "../mod.ts";
import {
  BLOCK_HEAD_BYTES,
  blockAt,
  ENTRY_BYTES,
  FLAG,
  LAYOUT_OFFSET,
  LAYOUT_VERSION,
  layoutOf,
  queued,
  readEntry,
  readRecord,
  RECORD,
  requestEntryAt,
  requestSlotAt,
  responseEntryAt,
  responseSlotAt,
  SERVICE_RECORD_BYTES,
  writeEntry,
  writeRecord,
} from "../request_response/layout.ts";
import type { ServiceHeader } from "../service/header.ts";

const invalid = (e: unknown) => e instanceof ShmError && e.code === "ERR_SERVICE_INVALID";
const shape = { clients: 3, inFlight: 4, requestSize: 100, responseSize: 65 };

function service(s = shape): { view: DataView; header: ServiceHeader } {
  const layout = layoutOf(s);
  const view = new DataView(new SharedArrayBuffer(layout.totalBytes));
  writeRecord(view, layout);
  const header: ServiceHeader = {
    kind: "request-response",
    version: LAYOUT_VERSION,
    layoutOffset: LAYOUT_OFFSET,
    totalBytes: layout.totalBytes,
    creatorPid: 1,
  };
  return { view, header };
}

test("request-response layout: offsets as the spec's table gives them", () => {
  const l = layoutOf(shape);
  assert.equal(l.requestStride, 128);
  assert.equal(l.responseStride, 128);
  assert.equal(l.blockBytes, 192, "64 + 2 queues of 4 entries of 16 bytes");
  assert.equal(l.blocksAt, 128);
  assert.equal(blockAt(l, 2), 128 + 2 * 192);
  assert.equal(l.payloadAt, 128 + 3 * 192);
  assert.equal(requestEntryAt(l, 1, 0), 128 + 192 + BLOCK_HEAD_BYTES);
  assert.equal(requestEntryAt(l, 1, 5), requestEntryAt(l, 1, 1), "positions wrap modulo inFlight");
  assert.equal(responseEntryAt(l, 1, 0), requestEntryAt(l, 1, 0) + 4 * ENTRY_BYTES);
  assert.equal(requestSlotAt(l, 0, 0), l.payloadAt);
  assert.equal(requestSlotAt(l, 1, 0), l.payloadAt + 4 * 256);
  assert.equal(responseSlotAt(l, 1, 2), requestSlotAt(l, 1, 0) + 4 * 128 + 2 * 128);
  assert.equal(l.totalBytes, l.payloadAt + 3 * 4 * 256);
  assert.equal(responseSlotAt(l, 2, 3) + l.responseStride, l.totalBytes, "the last slot ends the service");
  for (let c = 0; c < 3; c++) assert.equal(blockAt(l, c) % 64, 0);
  assert.equal(LAYOUT_OFFSET + SERVICE_RECORD_BYTES, l.blocksAt);
});

test("request-response layout: a written record reads back", () => {
  const { view, header } = service();
  assert.deepEqual(readRecord(view, header), layoutOf(shape));
});

test("request-response layout: every corrupt record field is ERR_SERVICE_INVALID", () => {
  const at = LAYOUT_OFFSET;
  const cases: [string, (v: DataView) => void, Partial<ServiceHeader>?][] = [
    ["no clients", (v) => v.setUint32(at + RECORD.clients, 0, true)],
    ["too many clients", (v) => v.setUint32(at + RECORD.clients, 100_000, true)],
    ["no in flight", (v) => v.setUint32(at + RECORD.inFlight, 0, true)],
    ["in flight huge", (v) => v.setUint32(at + RECORD.inFlight, 0xffffffff, true)],
    ["request size 0", (v) => v.setUint32(at + RECORD.requestSize, 0, true)],
    ["response size huge", (v) => v.setUint32(at + RECORD.responseSize, 0xffffffff, true)],
    ["bigger layout than the segment", (v) => v.setUint32(at + RECORD.clients, 4, true)],
    ["block size", (v) => v.setUint32(at + RECORD.blockBytes, 64, true)],
    ["header size differs", () => {}, { totalBytes: 1024 }],
    ["kind", () => {}, { kind: "publish-subscribe" }],
    ["version", () => {}, { version: 9 }],
    ["layout offset", () => {}, { layoutOffset: 128 }],
  ];
  for (const [what, corrupt, headerChange] of cases) {
    const { view, header } = service();
    corrupt(view);
    assert.throws(() => readRecord(view, { ...header, ...headerChange }), invalid, what);
  }
});

test("request-response layout: queue counters wrap at 2^32 and never exceed the capacity", () => {
  assert.equal(queued(5, 5, 4, "q"), 0);
  assert.equal(queued(7, 5, 4, "q"), 2);
  assert.equal(queued(1, 0xfffffffe, 4, "q"), 3, "head wrapped past 2^32");
  assert.equal(queued(-2, -4, 4, "q"), 2, "i32 words read as u32");
  assert.equal(queued(9, 5, 4, "q"), 4);
  assert.throws(() => queued(10, 5, 4, "q"), invalid, "more than the capacity");
  assert.throws(() => queued(4, 5, 4, "q"), invalid, "head behind tail");
});

test("request-response layout: entries round-trip and corrupt ones are refused", () => {
  const view = new DataView(new SharedArrayBuffer(64));
  writeEntry(view, 16, { id: 0xffffffff, slot: 3, length: 100, flags: FLAG.last });
  assert.deepEqual(readEntry(view, 16, 4, 100, "e"), { id: 0xffffffff, slot: 3, length: 100, flags: FLAG.last });
  writeEntry(view, 0, { id: 1, slot: 0, length: 0, flags: FLAG.last | FLAG.dropped });
  assert.equal(readEntry(view, 0, 4, 100, "e").flags, 3);
  const bad: [string, { id: number; slot: number; length: number; flags: number }][] = [
    ["slot", { id: 1, slot: 4, length: 0, flags: 0 }],
    ["length", { id: 1, slot: 0, length: 101, flags: 0 }],
    ["flags", { id: 1, slot: 0, length: 0, flags: 4 }],
    ["drop not last", { id: 1, slot: 0, length: 0, flags: FLAG.dropped }],
    ["drop with bytes", { id: 1, slot: 0, length: 1, flags: FLAG.last | FLAG.dropped }],
  ];
  for (const [what, entry] of bad) {
    writeEntry(view, 0, entry);
    assert.throws(() => readEntry(view, 0, 4, 100, "e"), invalid, what);
  }
});
