// The command in a pipeline and with odd windows: a reader that stops early ends it quietly, an empty
// window prints nothing, and messages name the flag or the missing segment as the user typed them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Segment } from "../mod.ts";
import { OS, ROOT, RUNTIMES, testName } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";

const linux = OS === "linux";
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

function argv(runtime: Runtime, args: string[]): string[] {
  return runtime === "deno"
    ? [bin("deno"), "run", "--quiet", "--allow-ffi", "--allow-read", "--allow-write", CLI, ...args]
    : runtime === "bun"
    ? [bin("bun"), CLI, ...args]
    : [bin("node"), "--no-warnings", CLI, ...args];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `shmem ARGS | READER` in a shell; returns the shell's view of shmem's exit and its stderr. */
function piped(runtime: Runtime, args: string[], reader: string) {
  const script = `${argv(runtime, args).map(quote).join(" ")} 2>"$ERR" | ${reader} >/dev/null; ` +
    `echo "\${PIPESTATUS[0]}"; cat "$ERR"`;
  const err = `/dev/shm/${testName()}.stderr`;
  const r = spawnSync("bash", ["-c", script], {
    cwd: ROOT,
    timeout: 60_000,
    encoding: "utf8",
    env: { ...process.env, ERR: err },
  });
  spawnSync("rm", ["-f", err]);
  const [status, ...rest] = r.stdout.split("\n");
  return { status: Number(status), stderr: rest.join("\n").trim(), signal: r.signal };
}

function shmem(runtime: Runtime, args: string[]) {
  const [exe, ...rest] = argv(runtime, args);
  const r = spawnSync(exe, rest, { cwd: ROOT, timeout: 60_000, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: shmem cat/hexdump of a big segment into head stop quietly`, { skip: !linux }, () => {
    const name = testName();
    const seg = Segment.create(name, { size: 64 << 20 });
    try {
      seg.bytes().fill(0x41);
      for (const [args, reader] of [[["cat", name], "head -c 100"], [["hexdump", name], "head -n 2"]] as const) {
        const r = piped(runtime, [...args], reader);
        assert.equal(r.signal, null);
        assert.ok(r.status === 0 || r.status === 141, `${args[0]}: exit ${r.status}, stderr: ${r.stderr}`);
        assert.equal(r.stderr, "", `${args[0]} wrote to stderr`);
      }
    } finally {
      seg.close();
      Segment.unlink(name);
    }
  });

  test(`${runtime}: shmem hexdump --length 0 prints nothing; a bad --offset names the flag`, { skip: !linux }, () => {
    const name = testName();
    const seg = Segment.create(name, { size: 4096 });
    try {
      const empty = shmem(runtime, ["hexdump", name, "--length", "0"]);
      assert.equal(empty.status, 0, empty.stderr);
      assert.equal(empty.stdout, "");
      const atEnd = shmem(runtime, ["hexdump", name, "--offset", "4096"]);
      assert.equal(atEnd.status, 0, atEnd.stderr);
      assert.equal(atEnd.stdout, "");
      const far = shmem(runtime, ["hexdump", name, "--offset", "99999999"]);
      assert.equal(far.status, 1);
      assert.match(far.stderr, /--offset must be from 0 to 4096/);
      assert.doesNotMatch(far.stderr, /Region/);
      const long = shmem(runtime, ["cat", name, "--offset", "4000", "--length", "97"]);
      assert.equal(long.status, 1);
      assert.match(long.stderr, /--length must be from 0 to 96/);
    } finally {
      seg.close();
      Segment.unlink(name);
    }
  });

  test(`${runtime}: shmem says a missing segment is missing, without "create it first"`, { skip: !linux }, () => {
    const name = testName();
    for (const cmd of ["cat", "hexdump", "info", "rm"]) {
      const r = shmem(runtime, [cmd, name]);
      assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`no segment is named '${name}'`), cmd);
      assert.doesNotMatch(r.stderr, /create it first/, cmd);
    }
  });
}
