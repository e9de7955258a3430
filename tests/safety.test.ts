// The crash-free invariants, each checked in child processes of every runtime
// so that a crash fails the test instead of killing the runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Segment } from "../mod.ts";
import { child, CHILD_RUNTIMES, command, ok, ROOT, run, RUNTIMES, shmExists, testName, withGc } from "./helpers.ts";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

function sh(script: string, env: Record<string, string> = {}) {
  const r = spawnSync("sh", ["-c", script], {
    encoding: "utf8",
    cwd: ROOT,
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

const quote = (args: string[]) => args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");

for (const runtime of CHILD_RUNTIMES) {
  test(`${runtime}: old views after close, stolen buffers and read-only writes never crash`, () => {
    const name = testName();
    try {
      const r = run(runtime, child("crashfree.ts"), [name]);
      assert.equal(r.signal, null, `${runtime} died with ${r.signal}\n${r.stderr}`);
      assert.equal(ok(r, runtime).trim(), "survived");
      assert.equal(shmExists(name), false);
    } finally {
      if (shmExists(name)) Segment.unlink(name);
    }
  });

  test(`${runtime}: a full /dev/shm fails at create with ENOSPC and leaves nothing`, {
    skip: !(isRoot && has("unshare")) && "needs root and unshare",
  }, () => {
    const cmd = quote([...command(runtime), child("enospc.ts")]);
    const r = sh(
      `unshare --mount sh -c "mount -t tmpfs -o size=1m tmpfs /dev/shm && exec ${cmd.replaceAll('"', '\\"')}"`,
    );
    assert.equal(r.signal, null, r.stderr);
    assert.equal(ok(r, runtime).trim(), "ok");
  });

  test(`${runtime}: a failed ftruncate undoes the create (no fd, no name)`, {
    skip: !has("prlimit") && "needs prlimit",
  }, () => {
    const name = testName();
    const cmd = quote(["prlimit", "--fsize=1048576", ...command(runtime), child("efbig.ts"), name]);
    const r = sh(`trap '' XFSZ; exec ${cmd}`);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(ok(r, runtime).trim(), "ok");
    assert.equal(shmExists(name), false);
  });

  test(`${runtime}: another user's 0600 segment gives EACCES`, {
    skip: !(isRoot && has("setpriv")) && "needs root and setpriv",
  }, () => {
    const name = testName();
    const seg = Segment.create(name, { size: 4096, mode: 0o600 });
    const home = mkdtempSync(join(tmpdir(), "shmem-nobody-"));
    try {
      sh(`chown 65534:65534 '${home}'`);
      const cmd = quote([
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        ...command(runtime),
        child("open_error.ts"),
        name,
        "ro",
      ]);
      const r = sh(`exec ${cmd}`, {
        HOME: home,
        DENO_DIR: join(home, "deno"),
        XDG_CACHE_HOME: home,
        BUN_INSTALL_CACHE_DIR: home,
      });
      assert.deepEqual(JSON.parse(ok(r, runtime)), { code: "EACCES", errno: 13, syscall: "shm_open" });
      seg.close();
    } finally {
      seg.unlink();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test(`${runtime}: a 5 GiB segment is reached byte for byte through regions`, () => {
    const name = testName();
    try {
      const r = run(runtime, child("huge.ts"), [name], 120_000);
      assert.equal(r.signal, null, r.stderr);
      const { whole } = JSON.parse(ok(r, runtime));
      // Bun cannot make one ArrayBuffer past 4 GiB: bytes() says so and points to region().
      assert.equal(whole, runtime === "bun" ? "RangeError" : 5 * 2 ** 30);
    } finally {
      if (shmExists(name)) Segment.unlink(name);
    }
  });
}

test("Deno without --allow-ffi is told to add it", () => {
  const deno = command("deno")[0];
  const r = spawnSync(deno, ["run", "--quiet", "--allow-read", "--allow-env", child("noffi.ts")], {
    encoding: "utf8",
    cwd: ROOT,
  });
  assert.match(r.stdout + r.stderr, /--allow-ffi/);
});

test("thousands of create/close/unlink cycles leak no fd and no mapping", () => {
  const fds = () => readdirSync("/proc/self/fd").length;
  const maps = () => readFileSync("/proc/self/maps", "utf8").split("\n").length;
  const cycle = () => {
    const name = testName();
    const seg = Segment.create(name, { size: 4096 });
    seg.bytes()[0] = 1;
    seg.region(0, 8).array(Int32Array)[1] = 2;
    seg.close();
    Segment.unlink(name);
  };
  for (let i = 0; i < 100; i++) cycle(); // warm up lazily loaded code
  const [fd0, map0] = [fds(), maps()];
  for (let i = 0; i < 3000; i++) cycle();
  const [fd1, map1] = [fds(), maps()];
  assert.equal(fd1, fd0);
  // The runtime's own heap may add a few mappings; 3000 leaked mappings would show.
  assert.ok(map1 - map0 < 50, `mappings grew from ${map0} to ${map1}`);
});

for (const runtime of RUNTIMES) {
  test(`${runtime}: the GC backstop closes a forgotten segment as close() does (views detached, memory unmapped)`, () => {
    const [exe, ...args] = withGc(runtime);
    const r = spawnSync(exe, [...args, child("gc.ts"), testName()], { encoding: "utf8", cwd: ROOT, timeout: 60_000 });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  });
}
