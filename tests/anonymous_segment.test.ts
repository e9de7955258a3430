import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnonymousSegment, ShmError } from "../mod.ts";
import { child, CHILD_RUNTIMES, command, ok, OS, ROOT, run } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";
import { fdCount, mapCount, mapsMentioning } from "./resources.ts";

const linux = OS === "linux";

/** Processes that hold an open descriptor or a mapping of the inode `ino` (memfd). */
function holders(ino: number): number[] {
  const found = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        try {
          if (statSync(`/proc/${entry}/fd/${fd}`).ino === ino) found.add(Number(entry));
        } catch { /* closed meanwhile */ }
      }
      const maps = readFileSync(`/proc/${entry}/maps`, "utf8");
      if (maps.split("\n").some((line) => line.includes("memfd:") && line.split(/\s+/)[4] === String(ino))) {
        found.add(Number(entry));
      }
    } catch { /* exited meanwhile */ }
  }
  return [...found];
}

/** Starts a child and resolves with its first line of output. */
function start(runtime: Runtime, args: string[]): { proc: ChildProcess; line: Promise<string>; done: Promise<string> } {
  const [exe, ...pre] = command(runtime);
  const proc = spawn(exe, [...pre, child("anon.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let resolveLine: (line: string) => void;
  const line = new Promise<string>((resolve) => (resolveLine = resolve));
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    if (out.includes("\n")) resolveLine(out.split("\n")[0]);
  });
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    proc.on("close", (status, signal) => {
      resolveLine("");
      if (status === 0 || signal === "SIGKILL") resolve(out);
      else reject(new Error(`${runtime} child failed (status ${status}, signal ${signal}):\n${out}\n${err}`));
    });
  });
  return { proc, line, done };
}

test("create, open in this process, read-only and private opens, close detaches every view", { skip: !linux }, () => {
  const shmBefore = readdirSync("/dev/shm").sort();
  const seg = AnonymousSegment.create({ size: 1 << 20 });
  assert.deepEqual(readdirSync("/dev/shm").sort(), shmBefore); // no name anywhere
  assert.match(seg.handle, /^\/proc\/\d+\/fd\/\d+$/);
  assert.equal(seg.size, 1 << 20);
  assert.equal(seg.bytes().every((b) => b === 0), true);
  const peer = AnonymousSegment.open(seg.handle);
  assert.notEqual(peer.handle, seg.handle);
  seg.bytes()[5] = 42;
  assert.equal(peer.bytes()[5], 42);
  const ro = AnonymousSegment.open(peer.handle, { readOnly: true });
  assert.equal(ro.readOnly, true);
  ro.bytes()[5] = 99;
  assert.equal(seg.bytes()[5], 42);
  seg.bytes()[4096] = 7; // untouched pages follow the others
  assert.equal(ro.bytes()[4096], 7);
  const cow = AnonymousSegment.open(seg.handle, { private: true });
  cow.bytes()[7] = 1;
  assert.equal(seg.bytes()[7], 0);
  const views = [seg.bytes(), seg.region(0, 64).array(Float64Array)];
  seg.close();
  seg.close();
  for (const v of views) assert.equal(v.length, 0);
  assert.throws(() => seg.bytes(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
  assert.equal(peer.bytes()[5], 42); // alive while anyone holds it
  assert.throws(() => AnonymousSegment.open(seg.handle), (e: unknown) => e instanceof ShmError && e.code === "ENOENT");
  for (const s of [peer, ro, cow]) s.close();
});

test("sealed: nobody can shrink or grow it into a SIGBUS", { skip: !linux }, () => {
  using seg = AnonymousSegment.create({ size: 65536 });
  assert.throws(() => truncateSync(seg.handle, 0), (e: unknown) => (e as { code?: string }).code === "EPERM");
  assert.throws(() => truncateSync(seg.handle, 1 << 20), (e: unknown) => (e as { code?: string }).code === "EPERM");
  assert.equal(seg.bytes()[65535], 0);
});

test("bad handles are rejected before any system call; a handle to something else is refused", { skip: !linux }, () => {
  for (const bad of ["", "x", "/proc/self/fd/3", "/proc/0/fd/3", "/proc/1/fd/-1", "/proc/1/fd/3/", "/dev/shm/x"]) {
    assert.throws(() => AnonymousSegment.open(bad), RangeError, bad);
  }
  // deno-lint-ignore no-explicit-any
  assert.throws(() => AnonymousSegment.open(3 as any), TypeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => AnonymousSegment.create(undefined as any), TypeError);
  assert.throws(() => AnonymousSegment.create({ size: 0 }), RangeError);
  assert.throws(() => AnonymousSegment.create({ size: 2 ** 60 }), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => AnonymousSegment.open("/proc/1/fd/1", { private: "no" as any }), TypeError);
  // A regular file's descriptor is not an anonymous segment: refused, nothing mapped.
  const dir = mkdtempSync(join(tmpdir(), "shmem-anon-"));
  const path = join(dir, "plain");
  writeFileSync(path, Buffer.alloc(4096));
  const plain = openSync(path, "r+");
  const fds = fdCount();
  assert.throws(
    () => AnonymousSegment.open(`/proc/${process.pid}/fd/${plain}`),
    (e: unknown) => e instanceof ShmError && e.code === "EINVAL" && /not an anonymous segment/.test(e.message),
  );
  assert.equal(fdCount(), fds);
  assert.equal(mapsMentioning(path), 0);
  closeSync(plain);
  rmSync(dir, { recursive: true });
  assert.throws(
    () => AnonymousSegment.open(`/proc/${process.pid}/fd/0`),
    (e: unknown) => e instanceof ShmError && (e.code === "EINVAL" || e.code === "ENOENT"),
  );
});

test("thousands of create/open/close cycles leak no descriptor or mapping", { skip: !linux }, () => {
  const fds = fdCount();
  const maps = mapCount();
  for (let i = 0; i < 2000; i++) {
    const seg = AnonymousSegment.create({ size: 4096 });
    const ro = AnonymousSegment.open(seg.handle, { readOnly: true });
    ro.bytes()[0] = 1;
    ro.close();
    seg.close();
    assert.throws(() => AnonymousSegment.open(seg.handle), ShmError);
  }
  assert.equal(fdCount(), fds);
  // The runtime maps and unmaps heap as it goes (tens of lines); a leak would add thousands.
  assert.ok(mapCount() <= maps + 200, `${mapCount() - maps} more mappings`);
  assert.equal(mapsMentioning("memfd:shmem"), 0);
});

for (const runtime of CHILD_RUNTIMES) {
  test(`a ${runtime} child opens this process's handle; its read-only writes stay its own`, { skip: !linux }, () => {
    using seg = AnonymousSegment.create({ size: 8192 });
    seg.bytes()[100] = 3;
    const r = JSON.parse(ok(run(runtime, child("anon.ts"), ["readonly-write", seg.handle, "100", "200"]), runtime));
    assert.deepEqual(r, { size: 8192, local: 200, readOnly: true });
    assert.equal(seg.bytes()[100], 3);
  });
}

const PAIRS: [Runtime, Runtime][] = [["deno", "bun"], ["bun", "node"], ["node", "deno"]];
if (CHILD_RUNTIMES.includes("node22")) PAIRS.push(["node22", "bun"], ["deno", "node22"]);
for (const [maker, opener] of PAIRS) {
  test(
    `memory outlives its SIGKILLed ${maker} creator while a ${opener} child holds it, and vanishes with the last holder`,
    { skip: !linux },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "shmem-anon-"));
      const gate = join(dir, "gate");
      const creator = start(maker, ["create", String(1 << 20), "500", "77"]);
      const { handle, ino } = JSON.parse(await creator.line);
      const reader = start(opener, ["open", handle, gate, "500"]);
      const opened = JSON.parse(await reader.line);
      assert.equal(opened.opened, 77);
      assert.equal(opened.ino, ino);
      assert.notDeepEqual(holders(ino), []);
      creator.proc.kill("SIGKILL");
      await creator.done;
      writeFileSync(gate, "");
      const out = await reader.done;
      assert.deepEqual(JSON.parse(out.trim().split("\n")[1]), { after: 77 });
      assert.deepEqual(holders(ino), []); // no descriptor, mapping or name is left anywhere
      rmSync(dir, { recursive: true });
    },
  );
}
