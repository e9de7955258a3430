/**
 * Test helpers: the three runtimes as child processes, and unique names.
 *
 * Children run the project's own runtimes from node_modules/.bin (Deno 2,
 * Bun 1, Node 24), whatever runtime runs the test itself.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Segment, uniqueName } from "../mod.ts";

/** The project root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

/** The runtime running this test. */
export const RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

/** The runtimes children can be started in. */
export const RUNTIMES = ["deno", "bun", "node"] as const;
/** A runtime a child can run in: the three, plus Node 22, our oldest supported Node. */
export type Runtime = typeof RUNTIMES[number] | "node22";

/** Node 22, our oldest supported Node, when tools/node22.sh has fetched it. */
export const NODE22: string = fileURLToPath(new URL("../.cache/node22/package/bin/node", import.meta.url));

/** The runtimes to start children in: the three, and Node 22 when it is there. */
export const CHILD_RUNTIMES: readonly Runtime[] = existsSync(NODE22) ? [...RUNTIMES, "node22"] : RUNTIMES;

/** The command line that runs a TypeScript file in `runtime`. */
export function command(runtime: Runtime): string[] {
  switch (runtime) {
    case "deno":
      return [bin("deno"), "run", "--allow-all", "--quiet"];
    case "bun":
      return [bin("bun"), "run"];
    case "node":
      return [bin("node"), "--no-warnings"];
    case "node22":
      return [NODE22, "--no-warnings"];
  }
}

/** The command line of `runtime` with a forced GC available to the script (`gc()`, or `Bun.gc`). */
export function withGc(runtime: Runtime): string[] {
  const [exe, ...pre] = command(runtime);
  if (runtime === "deno") return [exe, pre[0], "--v8-flags=--expose-gc", ...pre.slice(1)];
  if (runtime === "bun") return [exe, ...pre];
  return [exe, "--expose-gc", ...pre];
}

/** Path of a child script under tests/children. */
export function child(name: string): string {
  return fileURLToPath(new URL(`./children/${name}`, import.meta.url));
}

/** What a finished child did. */
export interface ChildResult {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` in `runtime` to the end (default time limit 60 s). */
export function run(runtime: Runtime, script: string, args: string[] = [], timeout = 60_000): ChildResult {
  const [exe, ...pre] = command(runtime);
  const r = spawnSync(exe, [...pre, script, ...args], { encoding: "utf8", timeout, cwd: ROOT });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Runs `script` in `runtime` without blocking this process. */
export function runAsync(
  runtime: Runtime,
  script: string,
  args: string[] = [],
  timeout = 60_000,
): Promise<ChildResult> {
  const [exe, ...pre] = command(runtime);
  return spawnAsync(exe, [...pre, script, ...args], timeout);
}

/** Runs the program `exe` without blocking this process (killed with SIGKILL after `timeout` ms). */
export function spawnAsync(exe: string, args: string[], timeout = 60_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(exe, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeout);
    p.on("error", reject);
    p.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Fails with the child's output unless it exited 0. */
export function ok(r: ChildResult, what = "child"): string {
  if (r.status !== 0) {
    throw new Error(`${what} failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Runs `body` with a fresh segment of `size` bytes, then closes and unlinks it. */
export async function withSegment(
  size: number,
  body: (seg: Segment, name: string) => Promise<void> | void,
): Promise<void> {
  const name = testName();
  const seg = Segment.create(name, { size });
  try {
    await body(seg, name);
  } finally {
    seg.close();
    Segment.unlink(name);
  }
}

/** A fresh name for a test segment. */
export function testName(): string {
  return uniqueName("shmt_");
}

/** Whether a POSIX segment name exists in /dev/shm (Linux). */
export function shmExists(name: string): boolean {
  return existsSync(`/dev/shm/${name}`);
}

/** Whether a command is available. */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
}

/** The OS, `process.platform` spelling. */
export const OS: string = "Deno" in globalThis
  ? ((globalThis as unknown as { Deno: { build: { os: string } } }).Deno.build.os === "windows"
    ? "win32"
    : (globalThis as unknown as { Deno: { build: { os: string } } }).Deno.build.os)
  : process.platform;
