// What once crashed or hung the process, each checked in a child with a time limit in Deno, Bun and Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { child, command, ROOT, RUNTIMES, shmExists, testName, withGc } from "./helpers.ts";
import { Segment } from "../mod.ts";

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

for (const runtime of RUNTIMES) {
  test(
    `${runtime}: opening a FIFO under a segment name or file path fails at once with EINVAL`,
    { skip: !linux },
    () => {
      const name = testName();
      const path = join(tmpdir(), `${testName()}.fifo`);
      execFileSync("mkfifo", [`/dev/shm/${name}`, path]);
      try {
        const [exe, ...pre] = command(runtime);
        const r = spawnSync(exe, [...pre, child("fifo.ts"), name, path], {
          encoding: "utf8",
          cwd: ROOT,
          timeout: 30_000,
        });
        assert.equal(r.signal, null, `hung or crashed (${r.signal}):\n${r.stdout}${r.stderr}`);
        assert.equal(r.status, 0, r.stderr);
        const results = r.stdout.trim().split("\n").map((line) => JSON.parse(line));
        assert.equal(results.length, 6, r.stdout);
        for (const { what, code } of results) assert.equal(code, "EINVAL", `${what}: ${code}`);
      } finally {
        rmSync(`/dev/shm/${name}`, { force: true });
        rmSync(path, { force: true });
      }
    },
  );
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: unlinkOnExit keeps the name while the program handles its own uncaught errors`, {
    skip: !linux,
  }, () => {
    const name = testName();
    const [exe, ...pre] = command(runtime);
    const r = spawnSync(exe, [...pre, child("exit_handled.ts"), name], {
      encoding: "utf8",
      cwd: ROOT,
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), "kept error:true rejection:true seen:error,rejection");
    assert.equal(shmExists(name), false, "the name goes at the real exit");
  });
}

const asOther = linux && process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;
for (const runtime of RUNTIMES) {
  test(`${runtime}: EACCES hints fit a read-write open, a read-only open and an unlink`, { skip: !asOther }, () => {
    const name = testName();
    const seg = Segment.create(name, { size: 4096, mode: 0o644 });
    seg.close();
    try {
      const [exe, ...pre] = command(runtime);
      const r = spawnSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", exe, ...pre, child("access.ts"), name],
        { encoding: "utf8", cwd: ROOT, timeout: 30_000, env: { ...process.env, HOME: tmpdir() } },
      );
      assert.equal(r.status, 0, r.stderr);
      const [rw, ro, unlink] = r.stdout.trim().split("\n").map((line) => JSON.parse(line));
      assert.equal(rw.code, "EACCES");
      assert.match(rw.message, /readOnly: true/);
      assert.equal(ro.code, "done", "a 0o644 segment opens read-only for others");
      assert.equal(unlink.code, "EACCES");
      assert.doesNotMatch(unlink.message, /readOnly/);
      assert.match(unlink.message, /only its owner/);
      chmodSync(`/dev/shm/${name}`, 0o600);
      const r2 = spawnSync(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", exe, ...pre, child("access.ts"), name],
        { encoding: "utf8", cwd: ROOT, timeout: 30_000, env: { ...process.env, HOME: tmpdir() } },
      );
      const ro2 = JSON.parse(r2.stdout.trim().split("\n")[1]);
      assert.equal(ro2.code, "EACCES");
      assert.doesNotMatch(ro2.message, /readOnly/, "no read-only advice for a read-only open");
    } finally {
      Segment.unlink(name);
    }
  });
}
