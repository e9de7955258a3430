import { test } from "node:test";
import assert from "node:assert/strict";
import { Segment, ShmError } from "../mod.ts";
import { child, CHILD_RUNTIMES, ok, run, shmExists, testName } from "./helpers.ts";

test("create, write, open in this process, close detaches every view, unlink", () => {
  const name = testName();
  const seg = Segment.create(name, { size: 1 << 20 });
  const peer = Segment.open(name);
  assert.equal(seg.name, name);
  assert.equal(seg.size, 1 << 20);
  assert.equal(peer.size, 1 << 20);
  assert.equal(seg.readOnly, false);
  seg.bytes()[0] = 42;
  assert.equal(peer.bytes()[0], 42);
  const header = seg.region(0, 64);
  header.view().setUint32(0, 7, true);
  assert.equal(new DataView(peer.bytes().buffer).getUint32(0, true), 7);
  const views = [seg.bytes(), header.bytes(), header.array(Float64Array), seg.region(8).array(Int32Array)];
  const dv = header.view();
  seg.close();
  assert.equal(seg.closed, true);
  for (const v of views) {
    assert.equal(v.length, 0);
    assert.equal(v[0], undefined);
  }
  assert.throws(() => dv.getUint8(0), TypeError);
  seg.close(); // idempotent
  assert.throws(() => seg.bytes(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
  assert.throws(() => header.bytes(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
  assert.throws(() => seg.region(0, 1), ShmError);
  assert.equal(peer.bytes()[0], 7);
  peer.close();
  Segment.unlink(name);
  assert.equal(shmExists(name), false);
});

test("a leading slash is accepted and stripped", () => {
  const name = testName();
  const seg = Segment.create("/" + name, { size: 4096 });
  assert.equal(seg.name, name);
  const peer = Segment.open(name);
  peer.close();
  seg.close();
  Segment.unlink("/" + name);
});

test("Symbol.dispose closes, and using works", () => {
  const name = testName();
  let bytes: Uint8Array;
  {
    using seg = Segment.create(name, { size: 4096 });
    bytes = seg.bytes();
    bytes[1] = 9;
  }
  assert.equal(bytes.length, 0);
  Segment.unlink(name);
});

test("errors carry code, errno and syscall", () => {
  const name = testName();
  const seg = Segment.create(name, { size: 4096 });
  try {
    assert.throws(
      () => Segment.create(name, { size: 4096 }),
      (e: unknown) =>
        e instanceof ShmError && e.code === "EEXIST" && e.errno === 17 && e.syscall === "shm_open" &&
        e.path === name && /already exists/.test(e.message),
    );
  } finally {
    seg.close();
    seg.unlink();
  }
  assert.throws(
    () => Segment.open(name),
    (e: unknown) => e instanceof ShmError && e.code === "ENOENT" && e.errno === 2,
  );
  assert.throws(() => Segment.unlink(name), (e: unknown) => e instanceof ShmError && e.code === "ENOENT");
});

test("the memory is zero-filled and mode is exact", async () => {
  const { statSync } = await import("node:fs");
  const name = testName();
  const seg = Segment.create(name, { size: 65536, mode: 0o640 });
  try {
    assert.equal(seg.bytes().every((b) => b === 0), true);
    assert.equal(statSync(`/dev/shm/${name}`).mode & 0o777, 0o640);
  } finally {
    seg.close();
    seg.unlink();
  }
});

test("regions: bounds, sub-regions and typed arrays", () => {
  const name = testName();
  using seg = Segment.create(name, { size: 4096 });
  try {
    const r = seg.region(64, 128);
    assert.equal(r.offset, 64);
    assert.equal(r.length, 128);
    assert.equal(seg.region(100).length, 3996);
    assert.equal(seg.region(4096).length, 0);
    const sub = r.region(8, 16);
    assert.equal(sub.offset, 72);
    sub.bytes()[0] = 5;
    assert.equal(seg.bytes()[72], 5);
    const f = r.array(Float64Array);
    assert.equal(f.length, 16);
    f[1] = 1.5;
    assert.equal(new DataView(seg.bytes().buffer).getFloat64(72, true), 1.5);
    assert.equal(seg.region(0, 8).array(BigInt64Array).length, 1);
    assert.throws(() => seg.region(4, 8).array(Float64Array), RangeError);
    assert.throws(() => seg.region(0, 6).array(Int32Array), RangeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => seg.region(0, 8).array(Array as any), TypeError);
    for (
      const [o, l] of [[-1, 1], [0, 4097], [4097, undefined], [1.5, 1], [0, 0.5], [NaN, 1], [0, Infinity], [4000, 97]]
    ) {
      assert.throws(() => seg.region(o as number, l as number), RangeError, `region(${o}, ${l})`);
    }
    // deno-lint-ignore no-explicit-any
    assert.throws(() => seg.region("0" as any, 1), TypeError);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => seg.region(0, "1" as any), TypeError);
    assert.throws(() => r.region(0, 129), RangeError);
  } finally {
    seg.unlink();
  }
});

test("bad names and sizes are rejected before any system call and leave nothing", async () => {
  const { readdirSync } = await import("node:fs");
  const before = readdirSync("/dev/shm").sort();
  const badNames: unknown[] = ["", "/", "a/b", "/a/b", "a\0b", ".", "..", "x".repeat(256), 42, undefined, null];
  for (const name of badNames) {
    assert.throws(
      () => Segment.create(name as string, { size: 4096 }),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
      `name ${JSON.stringify(name)}`,
    );
    assert.throws(
      () => Segment.open(name as string),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
    );
  }
  const name = testName();
  const badSizes: unknown[] = [0, -1, 1.5, NaN, Infinity, 2 ** 60, "4096", undefined, null, 4096n];
  for (const size of badSizes) {
    assert.throws(
      () => Segment.create(name, { size: size as number }),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
      `size ${String(size)}`,
    );
  }
  // deno-lint-ignore no-explicit-any
  assert.throws(() => Segment.create(name, undefined as any), TypeError);
  assert.throws(() => Segment.create(name, { size: 4096, mode: 0o1777 }), RangeError);
  assert.throws(() => Segment.create(name, { size: 4096, mode: -1 }), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => Segment.create(name, { size: 4096, reserve: "yes" as any }), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => Segment.open(name, { readOnly: 1 as any }), TypeError);
  assert.deepEqual(readdirSync("/dev/shm").sort(), before);
  assert.equal("x".repeat(255).length, 255);
  const longest = Segment.create("y".repeat(255), { size: 1 }); // NAME_MAX is fine on Linux
  longest.close();
  longest.unlink();
});

test("a read-only segment is read zero-copy, and writes through it never reach the others", () => {
  const name = testName();
  using seg = Segment.create(name, { size: 4096 });
  try {
    seg.bytes()[10] = 1;
    const ro = Segment.open(name, { readOnly: true });
    assert.equal(ro.readOnly, true);
    assert.equal(ro.bytes()[10], 1);
    seg.bytes()[11] = 2; // untouched pages follow the writer
    assert.equal(ro.bytes()[11], 2);
    ro.bytes()[10] = 99; // lands in a private copy
    assert.equal(ro.bytes()[10], 99);
    assert.equal(seg.bytes()[10], 1);
    ro.close();
    const cow = Segment.open(name, { private: true });
    cow.bytes()[12] = 7;
    assert.equal(seg.bytes()[12], 0);
    cow.close();
  } finally {
    seg.unlink();
  }
});

for (const runtime of CHILD_RUNTIMES) {
  test(`a ${runtime} child reads and writes what this process shares`, () => {
    const name = testName();
    using seg = Segment.create(name, { size: 8192 });
    try {
      seg.bytes().set([1, 2, 3], 4096);
      const read = JSON.parse(ok(run(runtime, child("rw.ts"), [name, "read", "4096", "3"]), runtime));
      assert.deepEqual(read, { size: 8192, bytes: [1, 2, 3] });
      ok(run(runtime, child("rw.ts"), [name, "write", "100", "7,8,9"]), runtime);
      assert.deepEqual(Array.from(seg.bytes().subarray(100, 103)), [7, 8, 9]);
      const ro = JSON.parse(ok(run(runtime, child("rw.ts"), [name, "readonly-write", "4096", "200"]), runtime));
      assert.deepEqual(ro, { size: 8192, local: 200, readOnly: true });
      assert.equal(seg.bytes()[4096], 1);
    } finally {
      seg.unlink();
    }
  });
}
