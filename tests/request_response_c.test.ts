// A C client that follows docs/request_response.md talks to a shmem server in every runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { child, OS, RUNTIMES, spawnAsync, testName } from "./helpers.ts";
import { start } from "./live_child.ts";

const cc = OS === "linux" && spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;

test("a C client of the spec talks to a shmem request-response server in every runtime", {
  skip: !cc && "needs Linux and a C compiler",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "shmem-reqres-c-"));
  const exe = join(dir, "reqres_peer");
  try {
    const build = spawnSync("cc", ["-O2", "-Wall", "-o", exe, child("reqres_peer.c"), "-lrt"], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    for (const runtime of RUNTIMES) {
      const name = testName();
      const server = start(runtime, child("reqres_peer.ts"), ["server", name, "1", "100"]);
      try {
        await server.ready;
        const r = await spawnAsync(exe, [name, "100"]);
        assert.equal(r.status, 0, `${runtime}: ${r.stderr}`);
        assert.equal(r.stdout.trim(), "ok 100");
        const ended = await server.ended;
        assert.equal(ended.status, 0, ended.stderr);
        assert.match(ended.stdout, /\{"served":100\}/);
      } finally {
        server.process.kill("SIGKILL");
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
