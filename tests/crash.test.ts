// What once crashed or hung the process, each checked in a child with a time limit in Deno, Bun and Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { child, command, ROOT, RUNTIMES, testName } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";

/** The command line that runs a child with a forced GC available (`gc()` or `Bun.gc`). */
function withGc(runtime: Runtime): string[] {
  const [exe, ...pre] = command(runtime);
  if (runtime === "deno") return [exe, pre[0], "--v8-flags=--expose-gc", ...pre.slice(1)];
  if (runtime === "bun") return [exe, ...pre];
  return [exe, "--expose-gc", ...pre];
}

const linux = process.platform === "linux";

for (const runtime of RUNTIMES) {
  for (const kind of ["segment", "region", "anon", "sysv", "file"]) {
    test(`${runtime}: the GC backstop keeps a ${kind} mapped while a buffer moved away still points into it`, {
      skip: !linux,
    }, () => {
      const [exe, ...args] = withGc(runtime);
      for (const how of ["transfer", "clone", "worker"]) {
        const r = spawnSync(exe, [...args, child("backstop.ts"), kind, how, testName()], {
          encoding: "utf8",
          cwd: ROOT,
          timeout: 60_000,
        });
        assert.equal(r.signal, null, `${how}: killed by ${r.signal}\n${r.stderr}`);
        assert.equal(r.status, 0, `${how}: exit ${r.status}\n${r.stdout}${r.stderr}`);
        // Node cannot transfer an external buffer at all (DataCloneError): nothing moved, nothing to keep.
        const expected = runtime === "node" && how !== "transfer" ? "ok unmovable" : "ok 7";
        assert.equal(r.stdout.trim(), expected, `${how}: ${r.stderr}`);
      }
    });
  }
}
