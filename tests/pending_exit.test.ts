// Native waits in flight (lockAsync of a mutex another process holds,
// waitAsync, recvAsync) when their memory is closed and when the process
// exits: every child ends cleanly, with nothing on stderr. (Node once printed
// "FATAL ERROR: Error::ThrowAsJavaScriptException napi_throw" on this path.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Channel, Segment } from "../mod.ts";
import { child, command, OS, ROOT, run, RUNTIMES, testName } from "./helpers.ts";

for (const runtime of RUNTIMES) {
  test(
    `${runtime}: waits in flight at close and at exit end the process cleanly`,
    { skip: OS !== "linux" },
    async () => {
      const name = testName();
      const seg = Segment.create(name, { size: 8192 });
      Channel.create(seg.region(4096));
      const [exe, ...pre] = command(runtime);
      const holder = spawn(exe, [...pre, child("mutex_peer.ts"), name, "hold"], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      try {
        await new Promise((resolve) => holder.stdout!.once("data", resolve));
        for (let seed = 1; seed <= 8; seed++) {
          const r = run(runtime, child("pending_exit.ts"), [name, String(seed), "5"], 30_000);
          assert.equal(r.signal, null, `seed ${seed}: killed by ${r.signal} (a hang)\n${r.stderr}`);
          assert.equal(r.status, 0, `seed ${seed}: exit ${r.status}\n${r.stderr}`);
          assert.doesNotMatch(r.stderr, /FATAL/, `seed ${seed}`);
          assert.equal(r.stderr, "", `seed ${seed}`);
        }
      } finally {
        holder.kill("SIGKILL");
        await new Promise((resolve) => holder.once("exit", resolve));
        seg.close();
        Segment.unlink(name);
      }
    },
  );
}
