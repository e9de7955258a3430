// A short fuzz run in the runtime running this test (the full run is `npm run fuzz`):
// a fixed seed, ~5,000 random public calls in a child with a time limit; no crash,
// no hang, no unexpected error class, nothing leaked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUNTIME } from "./helpers.ts";
import { clean, describe, fuzz } from "./fuzz/driver.ts";

test(`${RUNTIME}: 5,000 random public calls (seed 9) crash, hang and leak nothing`, {
  skip: process.platform !== "linux",
}, () => {
  const report = fuzz(RUNTIME, 9, 5000, 120_000);
  assert.ok(clean(report), describe(report));
  assert.ok(report.calls >= 5000, describe(report));
});
