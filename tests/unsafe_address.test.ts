// unsafeAddress() and pin(): the address native code sees, when it stays valid, and close() refusing while pinned.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { AnonymousSegment, type MappedMemory, Segment, ShmError, SysvSegment } from "../mod.ts";
import { ffi } from "../ffi/mod.ts";
import { child, CHILD_RUNTIMES, command, OS, ROOT, testName } from "./helpers.ts";

const linux = OS === "linux";
const libc = OS === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6"];
const c = OS === "win32" ? undefined : ffi.open(libc, {
  memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" }, // void *memset(void *s, int c, size_t n)
});

const useAfterClose = (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE";

const kinds: [string, () => { memory: MappedMemory; done(): void }, boolean][] = [
  ["Segment", () => {
    const name = testName();
    const memory = Segment.create(name, { size: 8192 });
    return { memory, done: () => Segment.unlink(name) };
  }, OS !== "win32"],
  ["SysvSegment", () => {
    const memory = SysvSegment.create({ size: 8192 });
    return { memory, done: () => SysvSegment.remove(memory.id) };
  }, OS !== "win32"],
  ["AnonymousSegment", () => ({ memory: AnonymousSegment.create({ size: 8192 }), done: () => {} }), linux],
];

for (const [kind, make, supported] of kinds) {
  test(
    `${kind}: native code writes and reads the bytes the views show, at unsafeAddress()`,
    { skip: !supported },
    () => {
      const { memory, done } = make();
      try {
        const base = memory.unsafeAddress();
        assert.equal(typeof base, "bigint");
        assert.equal(base % 4096n, 0n);
        const body = memory.region(1000, 500);
        assert.equal(body.unsafeAddress(), base + 1000n);
        assert.equal(body.region(24, 8).unsafeAddress(), base + 1024n);
        c!.symbols.memset(body.unsafeAddress(), 0x5a, 500); // native write through the address
        const bytes = memory.bytes();
        assert.equal(bytes[999], 0);
        assert.equal(bytes[1000], 0x5a);
        assert.equal(bytes[1499], 0x5a);
        assert.equal(bytes[1500], 0);
        memory.region(4096, 4).view().setInt32(0, -123456, true); // view write, native read
        assert.equal(ffi.readI32(base + 4096n), -123456);
        if (linux) {
          const maps = readFileSync("/proc/self/maps", "utf8").split("\n");
          const hex = base.toString(16);
          assert.ok(maps.some((l) => l.startsWith(`${hex}-`)), `a mapping starts at 0x${hex}`);
        }
        memory.close();
        assert.equal(bytes.length, 0);
        assert.throws(() => memory.unsafeAddress(), useAfterClose);
        assert.throws(() => body.unsafeAddress(), useAfterClose);
        assert.throws(() => memory.pin(), useAfterClose);
      } finally {
        memory.close();
        done();
      }
    },
  );
}

test("pin(): close() throws ERR_PINNED while a pin is held and the memory stays usable; release lets it close", {
  skip: OS === "win32",
}, () => {
  const name = testName();
  const seg = Segment.create(name, { size: 4096 });
  try {
    const bytes = seg.bytes();
    const first = seg.pin();
    const second = seg.pin();
    assert.equal(first.address, seg.unsafeAddress());
    assert.equal(first.size, 4096);
    assert.equal(first.released, false);
    assert.throws(
      () => seg.close(),
      (e: unknown) =>
        e instanceof ShmError && e.code === "ERR_PINNED" && e.errno === 0 && e.syscall === undefined &&
        /2 pins/.test(e.message) && /Release every pin/.test(e.message),
    );
    assert.equal(seg.closed, false);
    bytes[7] = 7; // still mapped: no crash, the write lands
    assert.equal(seg.bytes()[7], 7);
    first.release();
    first.release(); // idempotent: does not release the second pin
    assert.equal(first.released, true);
    assert.throws(() => seg.close(), (e: unknown) => e instanceof ShmError && /1 pin\b/.test(e.message));
    {
      using _scoped = second; // `using` releases it at the end of the block
    }
    assert.equal(second.released, true);
    seg.close();
    assert.equal(seg.closed, true);
    assert.equal(bytes.length, 0);
    seg.close(); // idempotent after close
    first.release(); // a stale pin is harmless
  } finally {
    try {
      seg.close();
    } catch { /* the assertions above report the failure */ }
    Segment.unlink(name);
  }
});

test("pin(): with `using`, a pin declared after the memory is released before the memory closes", {
  skip: OS === "win32",
}, () => {
  const name = testName();
  let seen: Uint8Array | undefined;
  {
    using seg = Segment.create(name, { size: 4096 });
    using pin = seg.pin();
    seen = seg.bytes();
    assert.equal(typeof pin.address, "bigint");
  }
  assert.equal(seen!.length, 0, "closed at the end of the block");
  Segment.unlink(name);
});

for (const runtime of CHILD_RUNTIMES) {
  test(`${runtime}: once an address was handed out, the GC backstop never unmaps the mapping`, { skip: !linux }, () => {
    const [exe, ...pre] = command(runtime);
    const flags = runtime === "deno" ? ["--v8-flags=--expose-gc"] : runtime === "bun" ? [] : ["--expose-gc"];
    const args = runtime === "deno" ? [pre[0], ...flags, ...pre.slice(1)] : [...flags, ...pre];
    const r = spawnSync(exe, [...args, child("address_gc.ts"), testName(), testName()], {
      encoding: "utf8",
      cwd: ROOT,
      timeout: 60_000,
    });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  });
}
