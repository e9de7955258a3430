// Services larger than 4 GiB are created, opened, described and used in every runtime. Bun cannot make one
// ArrayBuffer past 4 GiB, so the header, the layout and the description are read through views of only the bytes
// they need. A service's segment is reserved at create (Publisher.create and RequestServer.serve always reserve),
// so each test runs only where /dev/shm and the free memory hold it; the pages are allocated for the second or so
// it runs, one service at a time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statfsSync } from "node:fs";
import { freemem } from "node:os";
import { Segment } from "../mod.ts";
import { child, OS, run, RUNTIME, shmExists, testName } from "./helpers.ts";

/** Three samples of this size (the smallest pool) take a publish-subscribe service past 4 GiB. */
const SAMPLE = 1_450_000_000;
/** Two requests in flight with request and response slots of this size take a request-response service past 4 GiB. */
const SLOT = 2 ** 30;

/** Why a test of a service of `bytes` cannot run here, or false when it can. */
function room(bytes: number): string | false {
  const needed = bytes + 2 ** 30;
  if (OS !== "linux") return "the room check reads /dev/shm (Linux)";
  const fs = statfsSync("/dev/shm");
  if (fs.bavail * fs.bsize < needed) return `/dev/shm has less than ${needed} bytes free`;
  if (freemem() < needed) return `less than ${needed} bytes of memory are free`;
  return false;
}

/** Runs child `file` on a fresh name with `arg`; what it printed, checked to name a service past 4 GiB. */
function runLarge(file: string, arg: number): { totalBytes: number; samples?: number } {
  const name = testName();
  try {
    const r = run(RUNTIME, child(file), [name, String(arg)], 120_000);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim());
    assert.ok(out.totalBytes > 2 ** 32, `${out.totalBytes} bytes`);
    return out;
  } finally {
    if (shmExists(name)) Segment.unlink(name);
  }
}

test(`${RUNTIME}: a publish-subscribe service past 4 GiB is created, opened, listed and used`, {
  skip: room(3 * SAMPLE),
}, () => {
  assert.equal(runLarge("service_large.ts", SAMPLE).samples, 3);
});

test(`${RUNTIME}: a request-response service past 4 GiB is served, connected to, listed and used`, {
  skip: room(4 * SLOT),
}, () => {
  runLarge("request_response_large.ts", SLOT);
});
