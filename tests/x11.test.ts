// MIT-SHM with a real X server: an Xvfb started here on a display it picks,
// ended by its pid; the X client runs as a child in each runtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { startXvfb } from "../examples/xvfb.ts";
import { child, CHILD_RUNTIMES, command, ok, OS, ROOT, runAsync } from "./helpers.ts";
import { ipcsRow } from "./resources.ts";

const xvfb = OS === "linux" && spawnSync("sh", ["-c", "command -v Xvfb"], { stdio: "ignore" }).status === 0;
const skip = OS !== "linux"
  ? "MIT-SHM is tested on Linux"
  : !xvfb && "Xvfb is not installed (tools/x11/setup.sh installs it)";
if (skip && OS === "linux" && process.env.SHMEM_REQUIRE_X11 === "1") {
  throw new Error(`SHMEM_REQUIRE_X11=1 but the X11 tests cannot run: ${skip}`);
}
if (skip && OS === "linux") console.log(`x11 tests skipped: ${skip}`);

/** Runs the example as a user would, with DISPLAY set to the test's server. */
function example(runtime: (typeof CHILD_RUNTIMES)[number], display: string, frames: number) {
  const [exe, ...pre] = command(runtime);
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn(exe, [...pre, "examples/x11_frames.ts", String(frames)], {
      cwd: ROOT,
      env: { ...process.env, DISPLAY: display },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 90_000);
    p.on("error", reject);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

for (const runtime of CHILD_RUNTIMES) {
  test(`${runtime}: the X server attaches a SysvSegment; round trip, shared pixmap, the example, nothing left`, {
    skip,
  }, async () => {
    const server = await startXvfb(640, 480);
    assert.ok(server, "Xvfb was found on PATH but did not start");
    let report: Record<string, unknown>;
    let shown: { status: number | null; stdout: string; stderr: string };
    try {
      const r = await runAsync(runtime, child("x11.ts"), [server.display], 90_000);
      assert.equal(r.signal, null, r.stderr);
      report = JSON.parse(ok(r, `x11 child in ${runtime}`).trim().split("\n").at(-1)!);
      shown = await example(runtime, server.display, 20);
    } finally {
      await server.stop();
    }
    assert.equal(spawnSync("kill", ["-0", String(server.pid)]).status !== 0, true, "Xvfb ended");
    const shm = report.shm as { major: number; pixmaps: boolean };
    assert.equal(shm.major, 1);
    // A refused attach is a clear error naming the request, and the process goes on.
    assert.match(String(report.badAttach), /^XShmAttach of removed segment \d+ failed: the X server answered Bad\w+/);
    assert.equal(report.badAttachMinor, report.shmAttachMinor);
    assert.equal(report.usableAfterError, true);
    // Attached by this process and the server, seen by SysvSegment.list() and ipcs -m.
    assert.deepEqual(report.nattchAttached, [2, 2]);
    // close() refuses while the server holds the memory (a pin), and the memory stays mapped.
    assert.equal(report.closeWhileAttached, "ERR_PINNED");
    assert.equal(report.openAfterRefusedClose, true);
    // XShmPutImage, then XShmGetImage into a second segment: the same bytes.
    assert.equal(report.roundTripBytes, 160 * 120 * 4);
    assert.equal(report.roundTripMismatch, -1);
    assert.equal(report.patternDistinct, 160 * 120, "the pattern has a distinct value in every pixel");
    // The server's drawing into a shared pixmap is in shmem's views: 30 x 40 pixels, nothing outside.
    assert.equal(shm.pixmaps, true, "Xvfb offers shared pixmaps");
    assert.deepEqual(report.pixmap, { inside: 30 * 40, outside: 0 });
    // After XShmDetach only this process is attached; after close() and remove() nothing is left.
    assert.equal(report.nattchDetached, 1);
    assert.deepEqual(report.left, [null, null, null]);
    for (const id of report.ids as number[]) assert.equal(ipcsRow(id), undefined, `segment ${id} is gone`);
    // The example, run as the README says, draws its frames and leaves nothing behind.
    assert.equal(shown.status, 0, shown.stdout + shown.stderr);
    assert.match(shown.stdout, /^MIT-SHM 1\.\d+, depth \d+$/m);
    assert.match(shown.stdout, /^20 frames of 640x480 in [\d.]+ s: \d+ fps$/m);
    const id = Number(/System V segment (\d+) attached/.exec(shown.stdout)?.[1]);
    assert.ok(Number.isInteger(id), shown.stdout);
    assert.equal(ipcsRow(id), undefined, `the example's segment ${id} is gone`);
  });
}
