import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { ShmError, SysvSegment } from "../mod.ts";
import { child, CHILD_RUNTIMES, ok, OS, run } from "./helpers.ts";
import { fdCount, ipcsRow, mapCount, mapsMentioning, ownSegments, testKey } from "./resources.ts";

const linux = OS === "linux";

test("create, open by id and by key, write, remove, close detaches every view", () => {
  const key = testKey();
  const seg = SysvSegment.create({ size: 10000, key, mode: 0o640 });
  try {
    assert.equal(seg.key, key);
    assert.equal(seg.size, 10000);
    assert.equal(seg.readOnly, false);
    assert.equal(seg.bytes().every((b) => b === 0), true);
    const byId = SysvSegment.open(seg.id);
    const byKey = SysvSegment.openKey(key);
    assert.equal(byId.size, 10000);
    assert.equal(byKey.id, seg.id);
    assert.equal(byId.key, key);
    seg.bytes()[9999] = 42;
    assert.equal(byId.bytes()[9999], 42);
    assert.equal(byKey.bytes()[9999], 42);
    const views = [byId.bytes(), byId.region(8, 16).array(Int32Array)];
    byId.close();
    byId.close();
    for (const v of views) assert.equal(v.length, 0);
    assert.throws(() => byId.bytes(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
    byKey.close();
    assert.equal(seg.exists(), true);
    seg.remove();
    assert.equal(seg.exists(), false);
    seg.bytes()[0] = 1; // still attached after IPC_RMID
    assert.equal(seg.bytes()[0], 1);
    assert.throws(() => SysvSegment.openKey(key), (e: unknown) => e instanceof ShmError && e.code === "ENOENT");
  } finally {
    seg.close();
  }
  assert.equal(ipcsRow(seg.id), undefined);
});

test("a key in use fails with EEXIST; a missing id or key is a clear error", () => {
  const key = testKey();
  using seg = SysvSegment.create({ size: 4096, key });
  try {
    assert.throws(
      () => SysvSegment.create({ size: 4096, key }),
      (e: unknown) =>
        e instanceof ShmError && e.code === "EEXIST" && e.errno === 17 && e.syscall === "shmget" &&
        /openKey/.test(e.message),
    );
  } finally {
    seg.remove();
  }
  assert.throws(() => SysvSegment.openKey(key), (e: unknown) => e instanceof ShmError && e.code === "ENOENT");
  const unused = 2 ** 31 - 2;
  assert.throws(() => SysvSegment.open(unused), (e: unknown) => e instanceof ShmError && e.code === "EINVAL");
  assert.throws(() => SysvSegment.remove(unused), (e: unknown) => e instanceof ShmError && e.code === "EINVAL");
});

test("bad input is rejected before any system call and leaves nothing", () => {
  const before = ownSegments();
  const fds = fdCount();
  const bad: [() => unknown, typeof TypeError | typeof RangeError][] = [
    // deno-lint-ignore no-explicit-any
    [() => SysvSegment.create(undefined as any), TypeError],
    [() => SysvSegment.create({ size: 0 }), RangeError],
    [() => SysvSegment.create({ size: 1.5 }), RangeError],
    [() => SysvSegment.create({ size: 2 ** 60 }), RangeError],
    // deno-lint-ignore no-explicit-any
    [() => SysvSegment.create({ size: "1" as any }), TypeError],
    [() => SysvSegment.create({ size: 1, key: 0 }), RangeError],
    [() => SysvSegment.create({ size: 1, key: 2 ** 32 }), RangeError],
    [() => SysvSegment.create({ size: 1, key: 1.5 }), RangeError],
    // deno-lint-ignore no-explicit-any
    [() => SysvSegment.create({ size: 1, key: "1" as any }), TypeError],
    [() => SysvSegment.create({ size: 1, mode: 0o1000 }), RangeError],
    [() => SysvSegment.open(-1), RangeError],
    [() => SysvSegment.open(1.5), RangeError],
    [() => SysvSegment.open(2 ** 31), RangeError],
    // deno-lint-ignore no-explicit-any
    [() => SysvSegment.open("1" as any), TypeError],
    // deno-lint-ignore no-explicit-any
    [() => SysvSegment.open(0, { readOnly: 1 as any }), TypeError],
    // deno-lint-ignore no-explicit-any
    [() => SysvSegment.open(0, "ro" as any), TypeError],
    [() => SysvSegment.openKey(0), RangeError],
    [() => SysvSegment.remove(-5), RangeError],
  ];
  for (const [call, type] of bad) assert.throws(call, type, String(call));
  assert.deepEqual(ownSegments(), before);
  assert.equal(fdCount(), fds);
});

test("read-only and private opens are private copies: writes never crash and never reach the segment", () => {
  using seg = SysvSegment.create({ size: 8192 });
  try {
    seg.bytes()[10] = 1;
    const ro = SysvSegment.open(seg.id, { readOnly: true });
    assert.equal(ro.readOnly, true);
    assert.equal(ro.bytes()[10], 1);
    ro.bytes()[10] = 99;
    assert.equal(ro.bytes()[10], 99);
    assert.equal(seg.bytes()[10], 1);
    seg.bytes()[11] = 2;
    assert.equal(ro.bytes()[11], 0); // a copy taken at open...
    ro.refresh(11, 1);
    assert.equal(ro.bytes()[11], 2); // ...refreshed on demand
    assert.equal(ro.bytes()[10], 99);
    ro.refresh();
    assert.equal(ro.bytes()[10], 1);
    assert.throws(() => ro.refresh(8000, 500), RangeError);
    ro.close();
    assert.throws(() => ro.refresh(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
    const cow = SysvSegment.open(seg.id, { private: true });
    cow.bytes()[12] = 7;
    assert.equal(seg.bytes()[12], 0);
    cow.refresh(); // does nothing harmful on a copy
    cow.close();
    seg.refresh(); // a read-write attachment is always current
  } finally {
    seg.remove();
  }
});

test("thousands of create/open/close cycles leak no descriptor, mapping or segment", () => {
  const before = ownSegments();
  const fds = fdCount();
  const maps = mapCount();
  for (let i = 0; i < 2000; i++) {
    const seg = SysvSegment.create({ size: 4096 });
    const ro = SysvSegment.open(seg.id, { readOnly: true });
    ro.bytes()[0] = 1;
    ro.close();
    seg.remove();
    seg.close();
    assert.throws(() => SysvSegment.open(2 ** 31 - 3), ShmError);
  }
  assert.equal(fdCount(), fds);
  // The runtime maps and unmaps heap as it goes (tens of lines); a leak would add thousands.
  assert.ok(mapCount() <= maps + 200, `${mapCount() - maps} more mappings`);
  assert.equal(mapsMentioning("SYSV"), 0);
  assert.deepEqual(ownSegments(), before);
});

test(
  "interop: a segment made by ipcmk is opened by id and by key; ipcs shows ours; ipcrm removes it",
  { skip: !linux },
  () => {
    const made = execFileSync("ipcmk", ["-M", "12288", "-p", "0644"], { encoding: "utf8" });
    const id = Number(/(\d+)\s*$/.exec(made.trim())![1]);
    try {
      const row = ipcsRow(id)!;
      assert.equal(row.bytes, 12288);
      const byId = SysvSegment.open(id);
      assert.equal(byId.size, 12288);
      assert.equal(byId.key, row.key);
      byId.bytes()[12287] = 5;
      const byKey = SysvSegment.openKey(row.key, { readOnly: true });
      assert.equal(byKey.id, id);
      assert.equal(byKey.bytes()[12287], 5);
      assert.equal(ipcsRow(id)!.nattch, 2);
      byKey.close();
      byId.close();
    } finally {
      execFileSync("ipcrm", ["-m", String(id)]);
    }
    const key = testKey();
    const ours = SysvSegment.create({ size: 5000, key, mode: 0o640 });
    const row = ipcsRow(ours.id)!;
    assert.deepEqual([row.key, row.bytes, row.perms, row.nattch], [key, 5000, 0o640, 1]);
    execFileSync("ipcrm", ["-m", String(ours.id)]);
    assert.equal(ours.exists(), false); // marked for removal, still attached here
    assert.match(ipcsRow(ours.id)!.status, /dest/);
    ours.bytes()[0] = 1;
    ours.close();
    assert.equal(ipcsRow(ours.id), undefined);
  },
);

for (const runtime of CHILD_RUNTIMES) {
  test(`a ${runtime} child opens by id and by key, reads and writes; its read-only and private writes stay its own`, () => {
    const key = testKey();
    using seg = SysvSegment.create({ size: 8192, key });
    try {
      seg.bytes().set([1, 2, 3], 4096);
      const read = JSON.parse(ok(run(runtime, child("sysv.ts"), ["id", String(seg.id), "read", "4096", "3"]), runtime));
      assert.deepEqual(read, { id: seg.id, key, size: 8192, bytes: [1, 2, 3] });
      ok(run(runtime, child("sysv.ts"), ["key", String(key), "write", "100", "7,8,9"]), runtime);
      assert.deepEqual(Array.from(seg.bytes().subarray(100, 103)), [7, 8, 9]);
      for (const op of ["readonly-write", "private-write"]) {
        const r = JSON.parse(ok(run(runtime, child("sysv.ts"), ["id", String(seg.id), op, "4096", "200"]), runtime));
        assert.deepEqual(r, { size: 8192, local: 200, readOnly: true });
        assert.equal(seg.bytes()[4096], 1);
      }
    } finally {
      seg.remove();
    }
  });
}
