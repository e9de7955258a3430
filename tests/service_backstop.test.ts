// Service ports dropped without close() are closed by their GC backstop as close() closes them: the peers of a
// dropped server or publisher stop waiting (even with no timeout) with the documented error, and a dropped
// client or subscriber gives its slot back, though the process that dropped them lives on. Checked in a child
// with a forced GC and a time limit (a port that never leaves is a hang), in the runtime running this test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { child, ROOT, RUNTIME, shmExists, testName, withGc } from "./helpers.ts";

test(`${RUNTIME}: service ports dropped unclosed leave their services as close() does, once garbage`, () => {
  const name = testName();
  const [exe, ...args] = withGc(RUNTIME);
  const r = spawnSync(exe, [...args, child("dropped_ports.ts"), name], {
    encoding: "utf8",
    cwd: ROOT,
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `killed (a hang?): ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), {
    server: { outcome: "ERR_SERVER_GONE", named: false },
    publisher: { outcome: "ERR_PUBLISHER_GONE" },
    client: { before: 1, after: 0 },
    subscriber: { before: 1, after: 0 },
  });
  for (const suffix of ["server", "pub", "client", "sub"]) assert.equal(shmExists(`${name}_${suffix}`), false, suffix);
});
