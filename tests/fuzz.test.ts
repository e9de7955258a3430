// A short fuzz run in the runtime running this test (the full run is `npm run fuzz`):
// ~5,000 random public calls in a child with a time limit; no crash, no hang, no
// unexpected error class, nothing leaked. The seed is 1, the README's full run
// (FUZZ_SEED=N picks another); a failure prints the command that repeats it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { child, ROOT, RUNTIME, testName, withGc } from "./helpers.ts";
import { clean, describe, fuzz } from "./fuzz/driver.ts";

const linuxOnly = { skip: process.platform !== "linux" };

const seed = Number(process.env.FUZZ_SEED ?? 1);

// The child's time limit stays under the test's (120 s in Bun), so that a hang reports its last calls.
test(`${RUNTIME}: 5,000 random public calls (seed ${seed}) crash, hang and leak nothing`, linuxOnly, () => {
  const report = fuzz(RUNTIME, seed, 5000, 90_000);
  assert.ok(clean(report), describe(report));
  assert.ok(report.calls >= 5000, describe(report));
});

// The fuzzer once counted "mappings now - before - memories moved": a pinned memory dropped unclosed (kept by
// the documented backstop rule) then showed as a leak, and a System V copy whose buffer moved hid one.
test(`${RUNTIME}: the fuzzer's ledger counts only mappings no documented rule keeps`, linuxOnly, () => {
  const [exe, ...args] = withGc(RUNTIME);
  const r = spawnSync(exe, [...args, child("fuzz_ledger.ts"), testName()], {
    encoding: "utf8",
    cwd: ROOT,
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { fds: 0, maps: 1, opened: ["control"] });
});
