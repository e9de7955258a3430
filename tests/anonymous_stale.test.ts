// A stale AnonymousSegment handle whose descriptor number now names a socket
// or a pipe is refused with the documented EINVAL ("not an anonymous
// segment"), without opening the socket or pipe (which failed with ENXIO, or
// opened the pipe) and without leaving a descriptor behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
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

/** The descriptor of this process's listening `server`, as a `/proc` path:
 * found by its inode in /proc/net/tcp, so a runtime's own sockets, which may
 * close at any time, are never picked. */
function serverSockets(server: ReturnType<typeof createServer>): string[] {
  const port = (server.address() as { port: number }).port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === `0100007F:${port}` && f[3] === "0A") inodes.add(f[9]);
  }
  return descriptors("socket:")
    .map((fd) => `/proc/${process.pid}/fd/${fd}`)
    .filter((path) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(path))?.[1] ?? "");
      } catch {
        return false;
      }
    });
}

/** Pipes held by the children of `pid` (a shell running a pipeline), as
 * `/proc/<child>/fd/<n>` paths: a real pipe(2) made by the shell, whatever
 * the runtime uses for its own child stdio (Bun and libuv use sockets). */
function childPipes(pid: number): string[] {
  const found: string[] = [];
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  } catch {
    return found;
  }
  for (const child of children) {
    try {
      // Only stdin and stdout: the ends the pipeline joins. Higher numbers
      // are the shell's copies, closed when the child execs.
      for (const fd of ["0", "1"]) {
        const path = `/proc/${child}/fd/${fd}`;
        if (readlinkSync(path).startsWith("pipe:")) found.push(path);
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test("a handle whose descriptor names a socket or a pipe is EINVAL, not ENXIO", { skip: OS !== "linux" }, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const peer = spawn("sh", ["-c", "sleep 30 | sleep 30"], { stdio: "ignore", detached: true });
  try {
    const sockets = serverSockets(server);
    let pipes = childPipes(peer.pid!);
    for (let tries = 0; pipes.length < 2 && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      pipes = childPipes(peer.pid!);
    }
    assert.ok(sockets.length > 0 && pipes.length > 0, `sockets ${sockets}, pipes ${pipes}`);
    for (const path of [...sockets, ...pipes]) {
      for (const options of [{}, { readOnly: true }]) {
        const before = fdCount();
        assert.throws(
          () => AnonymousSegment.open(path, options),
          (e: unknown) => e instanceof ShmError && e.code === "EINVAL" && /not an anonymous segment/.test(e.message),
          `${path} (${readlinkSync(path)}), ${JSON.stringify(options)}`,
        );
        assert.equal(fdCount(), before, "no descriptor left behind");
      }
    }
  } finally {
    const exited = new Promise((resolve) => peer.once("exit", resolve));
    process.kill(-peer.pid!, "SIGKILL"); // the shell and both sleeps
    await exited;
    await new Promise((resolve) => server.close(resolve));
  }
});
