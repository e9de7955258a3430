// A C program that follows docs/pubsub.md publishes to Deno, Bun and Node subscribers and subscribes to a shmem publisher.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Publisher } from "../mod.ts";
import { child, ok, OS, runAsync, RUNTIMES, testName } from "./helpers.ts";
import type { ChildResult } from "./helpers.ts";

const cc = spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;
const COUNT = 2000;
const sizeOf = (i: number) => 32 + (i % 64);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the C peer without blocking this process; at most a minute. */
function runC(exe: string, args: string[]): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(exe, args, { timeout: 60_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ status, signal: error?.signal ?? null, stdout, stderr });
    });
  });
}

test("pubsub: a C publisher and subscriber interoperate with shmem in every runtime", {
  skip: (!cc || OS !== "linux") && "needs a C compiler on Linux",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "shmem-c-"));
  const exe = join(dir, "pubsub_peer");
  try {
    const build = spawnSync("cc", ["-O2", "-Wall", "-o", exe, child("pubsub_peer.c"), "-lrt"], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);

    // C publishes to a Deno, a Bun and a Node subscriber at once.
    const name = testName();
    const pub = runC(exe, [name, "publish", String(COUNT), String(RUNTIMES.length)]);
    const subs = RUNTIMES.map((r) => runAsync(r, child("pubsub_peer.ts"), [name, "subscribe", String(COUNT)]));
    for (const [k, r] of (await Promise.all(subs)).entries()) {
      assert.deepEqual(JSON.parse(ok(r, RUNTIMES[k])), { received: COUNT, missed: 0 });
    }
    assert.deepEqual(JSON.parse(ok(await pub, "C publisher")), { published: COUNT });

    // C subscribes to this process's publisher.
    const other = testName();
    using mine = Publisher.create(other, { sampleSize: 128, subscribers: 1, depth: 8 });
    const sub = runC(exe, [other, "subscribe", String(COUNT)]);
    while (mine.subscribers === 0) await pause(2);
    for (let i = 0; i < COUNT; i++) {
      const s = mine.loan();
      new DataView(s.bytes.buffer, s.bytes.byteOffset, 4).setUint32(0, i, true);
      for (let k = 4; k < sizeOf(i); k++) s.bytes[k] = (i + k) & 255;
      while (!s.publish(sizeOf(i), 0)) await pause(0);
    }
    assert.deepEqual(JSON.parse(ok(await sub, "C subscriber")), { received: COUNT });
    assert.equal(mine.subscribers, 0, "the C subscriber left");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
