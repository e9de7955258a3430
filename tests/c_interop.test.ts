// A C program's shm_open("/frames") meets Segment.open("frames"), both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Segment } from "../mod.ts";
import { child, testName } from "./helpers.ts";

const cc = spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;

test("a C program reads and writes a shmem segment, and shmem opens the C program's", {
  skip: !cc && "needs a C compiler",
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "shmem-c-"));
  const exe = join(dir, "peer");
  const name = testName();
  try {
    const build = spawnSync("cc", ["-O2", "-o", exe, child("peer.c"), "-lrt"], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    using seg = Segment.create(name, { size: 4096 });
    seg.bytes().set([0xca, 0xfe, 0xba, 0xbe]);
    const r = spawnSync(exe, [name], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "cafebabe");
    assert.equal(new TextDecoder().decode(seg.bytes().subarray(4, 10)), "from C");
    using theirs = Segment.open(`/${name}-c`);
    assert.equal(theirs.size, 8192);
    assert.equal(theirs.bytes()[8191], 0x5a);
    theirs.unlink();
    seg.unlink();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
