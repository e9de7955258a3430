import { test } from "node:test";
import assert from "node:assert/strict";
import { Segment, ShmError } from "../mod.ts";
import {
  headerOf,
  markServiceReady,
  readServiceHeader,
  SERVICE_FIELD,
  SERVICE_HEADER_BYTES,
  writeServiceHeader,
} from "../service/header.ts";
import { testName } from "./helpers.ts";

const header = { kind: "publish-subscribe", version: 1, layoutOffset: 64, totalBytes: 4096, creatorPid: 7 } as const;

function written(size = 4096): Uint8Array {
  const bytes = new Uint8Array(size);
  writeServiceHeader(bytes, header);
  return bytes;
}

const invalid = (e: unknown) => e instanceof ShmError && e.code === "ERR_SERVICE_INVALID";

test("service header: written, initialising until marked ready, then read back", () => {
  const bytes = written();
  assert.equal(readServiceHeader(bytes), "initialising");
  markServiceReady(bytes);
  assert.deepEqual(readServiceHeader(bytes), header);
});

test("service header: memory without the magic, or too small, is foreign", () => {
  assert.equal(readServiceHeader(new Uint8Array(4096)), "foreign");
  assert.equal(readServiceHeader(new Uint8Array(SERVICE_HEADER_BYTES - 1)), "foreign");
});

test("service header: every field out of range is ERR_SERVICE_INVALID", () => {
  const cases: [string, (v: DataView) => void][] = [
    ["state", (v) => v.setInt32(SERVICE_FIELD.state, 9, true)],
    ["kind", (v) => v.setUint16(SERVICE_FIELD.kind, 77, true)],
    ["layout offset unaligned", (v) => v.setUint32(SERVICE_FIELD.layoutOffset, 65, true)],
    ["layout offset past the end", (v) => v.setUint32(SERVICE_FIELD.layoutOffset, 8192, true)],
    ["size past the end", (v) => v.setFloat64(SERVICE_FIELD.totalBytes, 4097, true)],
    ["size not an integer", (v) => v.setFloat64(SERVICE_FIELD.totalBytes, NaN, true)],
    ["size below the layout", (v) => v.setFloat64(SERVICE_FIELD.totalBytes, 32, true)],
  ];
  for (const [what, corrupt] of cases) {
    const bytes = written();
    markServiceReady(bytes);
    corrupt(new DataView(bytes.buffer));
    assert.throws(() => readServiceHeader(bytes), invalid, what);
  }
});

test("service header: read from its 64 bytes alone, checked against the segment's size", () => {
  const bytes = written(SERVICE_HEADER_BYTES);
  markServiceReady(bytes);
  assert.deepEqual(readServiceHeader(bytes, 4096), header, "the 64 bytes of a 4096-byte segment");
  assert.throws(() => readServiceHeader(bytes, 4095), invalid, "the segment is smaller than the header says");
  assert.throws(() => readServiceHeader(bytes), invalid, "by default the view is the segment");
  assert.equal(readServiceHeader(bytes, SERVICE_HEADER_BYTES - 1), "foreign");
});

test("service header: headerOf views only the header, and a segment smaller than one is foreign", () => {
  const name = testName();
  using seg = Segment.create(name, { size: 4096 });
  try {
    writeServiceHeader(seg.region(0, SERVICE_HEADER_BYTES).bytes(), header);
    assert.equal(headerOf(seg), "initialising");
    markServiceReady(seg.region(0, SERVICE_HEADER_BYTES).bytes());
    assert.deepEqual(headerOf(seg), header);
    using small = Segment.create(`${name}_small`, { size: SERVICE_HEADER_BYTES - 1 });
    small.unlink();
    assert.equal(headerOf(small), "foreign");
  } finally {
    seg.unlink();
  }
});
