// A stale AnonymousSegment handle whose descriptor number now names a socket
// or a pipe is refused with the documented EINVAL ("not an anonymous
// segment"), without opening the socket or pipe (which failed with ENXIO, or
// opened the pipe) and without leaving a descriptor behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import { AnonymousSegment, ShmError } from "../mod.ts";
import { OS } from "./helpers.ts";
import { fdCount } from "./resources.ts";

/** This process's descriptors whose link starts with `kind` ("socket:", "pipe:"). */
function descriptors(kind: string): number[] {
  const found: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(kind)) found.push(Number(fd));
    } catch {
      // closed meanwhile (the directory's own descriptor)
    }
  }
  return found;
}

test("a handle whose descriptor names a socket or a pipe is EINVAL, not ENXIO", { skip: OS !== "linux" }, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const peer = spawn("sleep", ["30"], { stdio: ["pipe", "pipe", "pipe"] });
  try {
    const sockets = descriptors("socket:");
    const pipes = descriptors("pipe:");
    assert.ok(sockets.length > 0 && pipes.length > 0, `sockets ${sockets}, pipes ${pipes}`);
    for (const fd of [...sockets, ...pipes]) {
      for (const options of [{}, { readOnly: true }]) {
        const before = fdCount();
        assert.throws(
          () => AnonymousSegment.open(`/proc/${process.pid}/fd/${fd}`, options),
          (e: unknown) => e instanceof ShmError && e.code === "EINVAL" && /not an anonymous segment/.test(e.message),
          `fd ${fd} (${readlinkSync(`/proc/self/fd/${fd}`)}), ${JSON.stringify(options)}`,
        );
        assert.equal(fdCount(), before, "no descriptor left behind");
      }
    }
  } finally {
    peer.kill("SIGKILL");
    await new Promise((resolve) => peer.once("exit", resolve));
    await new Promise((resolve) => server.close(resolve));
  }
});
