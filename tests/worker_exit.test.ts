// A worker thread that ends while it holds open memory of every kind (a
// Segment, Region, Mutex, Channel, AnonymousSegment, SysvSegment, MappedFile)
// leaves no descriptor and no mapping behind: its FinalizationRegistry never
// runs again, so the views are released at the thread's end. A worker that
// is terminated runs nothing (or only sometimes its exit event): the next call
// of a thread that lives on closes its descriptors, and in Node also unmaps
// its memory (Deno and Bun move posted buffers, so its mappings stay there).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { child, command, ROOT, RUNTIMES, testName, withGc } from "./helpers.ts";

const linux = process.platform === "linux";

for (const runtime of RUNTIMES) {
  for (const how of ["exit", "end"]) {
    test(
      `${runtime}: a worker that ends by ${
        how === "exit" ? "process.exit()" : "itself"
      } holding open memory leaks nothing`,
      {
        skip: !linux,
      },
      () => {
        const [exe, ...pre] = command(runtime);
        const gc = runtime === "deno"
          ? [pre[0], "--v8-flags=--expose-gc", ...pre.slice(1)]
          : runtime === "node"
          ? ["--expose-gc", ...pre]
          : pre;
        const name = testName();
        const path = join(tmpdir(), `${name}.worker_terminate`);
        const r = spawnSync(exe, [...gc, child("worker_terminate.ts"), name, path, "node", how], {
          encoding: "utf8",
          cwd: ROOT,
          timeout: 60_000,
        });
        assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(JSON.parse(r.stdout.trim()), { fds: 0, maps: 0 }, r.stderr);
      },
    );
  }
}

for (const runtime of RUNTIMES) {
  for (const flavour of runtime === "node" ? ["node"] : ["node", "web"]) {
    test(`${runtime}: a terminated ${flavour} worker's descriptors are closed by the next call of another thread`, {
      skip: !linux,
    }, () => {
      const [exe, ...args] = withGc(runtime);
      const name = testName();
      const path = join(tmpdir(), `${name}.worker_terminate`);
      const r = spawnSync(exe, [...args, child("worker_terminate.ts"), name, path, flavour, "terminate"], {
        encoding: "utf8",
        cwd: ROOT,
        timeout: 60_000,
      });
      assert.equal(r.signal, null, `killed by ${r.signal}\n${r.stderr}`);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const left = JSON.parse(r.stdout.trim());
      assert.equal(left.fds, 0, r.stdout);
      // Node copies posted buffers, so a dead worker's mappings are unmapped too; Deno and Bun keep them.
      if (runtime === "node") assert.equal(left.maps, 0, r.stdout);
    });
  }
}
