// Mutex regressions: calls after the memory is closed, unlock of a free or foreign mutex, a synchronous relock by the
// holder (which waited forever), and lockAsync calls queued behind the holder in order. Each runs in a child process
// of every runtime with a time limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Mutex, Segment } from "../mod.ts";
import { child, command, ok, run, RUNTIMES, testName } from "./helpers.ts";

const script = child("mutex_peer.ts");

function withMutex(body: (name: string, mutex: Mutex) => Promise<void> | void): Promise<void> {
  const name = testName();
  const seg = Segment.create(name, { size: 4096 });
  return (async () => {
    try {
      await body(name, Mutex.init(seg.region(0, Mutex.BYTES)));
    } finally {
      seg.close();
      Segment.unlink(name);
    }
  })();
}

/** The child's JSON output; fails on a crash, a hang (the time limit) or anything on stderr. */
function runPeer(runtime: typeof RUNTIMES[number], name: string, op: string): Record<string, unknown> {
  const r = run(runtime, script, [name, op], 30_000);
  assert.equal(r.signal, null, `${runtime} ${op} ended by ${r.signal} (a hang hits the time limit)`);
  const stdout = ok(r, `${runtime} ${op}`);
  assert.equal(r.stderr, "", `${runtime} ${op} printed on stderr`);
  return JSON.parse(stdout);
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: after the memory is closed every Mutex call, and a pending lockAsync, give ERR_USE_AFTER_CLOSE`, () =>
    withMutex((name) => {
      const r = runPeer(runtime, name, "closed");
      for (const key of ["tryLock", "lock", "unlock", "lockAsync", "pending"]) {
        assert.equal((r[key] as { code?: string }).code, "ERR_USE_AFTER_CLOSE", `${key}: ${JSON.stringify(r[key])}`);
        assert.equal((r[key] as { class?: string }).class, "ShmError", key);
      }
    }));

  test(`${runtime}: a synchronous lock() by the thread holding the mutex throws ERR_MUTEX_DEADLOCK at once`, () =>
    withMutex((name) => {
      const r = runPeer(runtime, name, "relock") as { second: { code: string; message: string }; tryLock: string };
      assert.equal(r.second.code, "ERR_MUTEX_DEADLOCK");
      assert.match(r.second.message, /already holds/);
      assert.equal(r.tryLock, "busy", "tryLock by the holder says busy");
    }));

  test(`${runtime}: another thread of the holding process waits for the holder instead of failing`, () =>
    withMutex((name) => {
      const r = runPeer(runtime, name, "worker");
      assert.deepEqual(r.messages, [{ started: true }, { result: "locked" }]);
    }));

  test(`${runtime}: unlock of a free mutex is ERR_MUTEX_NOT_LOCKED with a hint that fits`, () =>
    withMutex((name) => {
      const r = runPeer(runtime, name, "unlock-free") as { code: string; message: string };
      assert.equal(r.code, "ERR_MUTEX_NOT_LOCKED");
      assert.match(r.message, /not locked/);
      assert.doesNotMatch(r.message, /permitted/);
    }));

  test(`${runtime}: lockAsync calls of the holder queue behind it and get the mutex in call order`, () =>
    withMutex((name) => {
      const r = runPeer(runtime, name, "order");
      assert.deepEqual(r, {
        got: ["short:timed-out", "a:locked", "b:locked", "c:locked", "d:locked"],
        after: "locked",
      });
    }));
}

test("unlock of a mutex another process holds is ERR_MUTEX_NOT_OWNER, in every runtime", () =>
  withMutex(async (name, mutex) => {
    const [exe, ...pre] = command("deno");
    const holder = spawn(exe, [...pre, script, name, "hold"], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((r) => holder.once("exit", r));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once("data", () => resolve());
        holder.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
      });
      assert.equal(mutex.tryLock(), "busy");
      for (const runtime of RUNTIMES) {
        const r = runPeer(runtime, name, "unlock-other") as {
          tryLock: string;
          unlock: { code: string; message: string };
        };
        assert.equal(r.tryLock, "busy", runtime);
        assert.equal(r.unlock.code, "ERR_MUTEX_NOT_OWNER", runtime);
        assert.match(r.unlock.message, new RegExp(`pid ${holder.pid}`), runtime);
      }
    } finally {
      holder.kill("SIGKILL");
      await exited;
    }
  }));
