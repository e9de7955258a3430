// Byte-for-byte interop with Python's multiprocessing.shared_memory, both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { Segment } from "../mod.ts";
import { shmExists, testName } from "./helpers.ts";

const python = spawnSync("python3", ["-c", "import multiprocessing.shared_memory"], { stdio: "ignore" }).status === 0;
const skip = !python && "needs python3 with multiprocessing.shared_memory";

// Python < 3.13 registers segments it only attached to with its resource
// tracker, which unlinks them at exit: unregister them (3.13+: track=False).
const ATTACH = `
import sys
from multiprocessing import shared_memory, resource_tracker
def attach(name):
    try:
        return shared_memory.SharedMemory(name=name, track=False)
    except TypeError:
        s = shared_memory.SharedMemory(name=name)
        resource_tracker.unregister(s._name, "shared_memory")
        return s
`;

test("Python opens what shmem created, reads and writes it", { skip }, () => {
  const name = testName();
  const seg = Segment.create(name, { size: 4096 });
  try {
    seg.bytes().set([0xde, 0xad, 0xbe, 0xef]);
    const script = `${ATTACH}
s = attach(sys.argv[1])
print(s.size, bytes(s.buf[:4]).hex())
s.buf[4:8] = bytes([1, 2, 3, 4])
s.close()
`;
    const r = spawnSync("python3", ["-c", script, name], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "4096 deadbeef");
    assert.deepEqual(Array.from(seg.bytes().subarray(0, 8)), [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    assert.equal(shmExists(name), true, "the segment must survive Python's exit");
  } finally {
    seg.close();
    seg.unlink();
  }
});

test("shmem opens what Python created (psm_ names), reads and writes it", { skip }, async () => {
  const script = `
import sys, time
from multiprocessing import shared_memory
s = shared_memory.SharedMemory(create=True, size=10000)
s.buf[:5] = b"hello"
print(s.name, s.size, flush=True)
sys.stdin.readline()
print(bytes(s.buf[5:11]).decode(), flush=True)
s.close()
s.unlink()
`;
  const py = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: py.stdout! })[Symbol.asyncIterator]();
  const [name, size] = ((await lines.next()).value as string).split(" ");
  assert.match(name, /^psm_/);
  const seg = Segment.open(name);
  assert.equal(seg.size, Number(size));
  assert.equal(new TextDecoder().decode(seg.bytes().subarray(0, 5)), "hello");
  seg.bytes().set(new TextEncoder().encode(" world"), 5);
  seg.close();
  py.stdin!.write("\n");
  assert.equal((await lines.next()).value, " world");
  await new Promise((resolve) => py.on("close", resolve));
  assert.equal(shmExists(name), false);
});
