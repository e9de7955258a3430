// A service larger than 4 GiB is created, opened, described and used in every runtime. Bun cannot make one
// ArrayBuffer past 4 GiB, so the header, the layout and the description are read through views of only the bytes
// they need. The service's segment is reserved at create (Publisher.create always reserves), so the test runs only
// where /dev/shm and the free memory hold it; the samples' pages are allocated for the second or so it runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statfsSync } from "node:fs";
import { freemem } from "node:os";
import { Segment } from "../mod.ts";
import { child, OS, run, RUNTIME, shmExists, testName } from "./helpers.ts";

/** Three samples of this size (the smallest pool) take the service past 4 GiB. */
const SAMPLE = 1_450_000_000;
const NEEDED = 3 * SAMPLE + 2 ** 30;

function room(): string | false {
  if (OS !== "linux") return "the room check reads /dev/shm (Linux)";
  const fs = statfsSync("/dev/shm");
  if (fs.bavail * fs.bsize < NEEDED) return `/dev/shm has less than ${NEEDED} bytes free`;
  if (freemem() < NEEDED) return `less than ${NEEDED} bytes of memory are free`;
  return false;
}

test(`${RUNTIME}: a publish-subscribe service past 4 GiB is created, opened, listed and used`, { skip: room() }, () => {
  const name = testName();
  try {
    const r = run(RUNTIME, child("service_large.ts"), [name, String(SAMPLE)], 120_000);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const { totalBytes, samples } = JSON.parse(r.stdout.trim());
    assert.ok(totalBytes > 2 ** 32, `${totalBytes} bytes`);
    assert.equal(samples, 3);
  } finally {
    if (shmExists(name)) Segment.unlink(name);
  }
});
