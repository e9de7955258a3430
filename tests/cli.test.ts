import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { rmSync, writeFileSync } from "node:fs";
import { Segment } from "../mod.ts";
import { OS, ROOT, RUNTIMES, shmExists, testName } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";

const linux = OS === "linux";
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

/** The command line a user types in each runtime (Deno with the documented permissions only). */
function shmem(runtime: Runtime, args: string[]) {
  const argv = runtime === "deno"
    ? [bin("deno"), "run", "--quiet", "--allow-ffi", "--allow-read", "--allow-write", CLI, ...args]
    : runtime === "bun"
    ? [bin("bun"), CLI, ...args]
    : [bin("node"), "--no-warnings", CLI, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, text: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: shmem --help documents every subcommand; usage errors exit 2`, () => {
    const help = shmem(runtime, ["--help"]);
    assert.equal(help.status, 0, help.stderr);
    for (
      const word of ["ls", "info <name>", "cat <name>", "hexdump <name>", "rm <name>", "gc", "--dry-run", "--json"]
    ) {
      assert.ok(help.text.includes(word), `help mentions ${word}`);
    }
    const bad: [string[], RegExp][] = [
      [[], /No command/],
      [["frobnicate"], /Unknown command 'frobnicate'/],
      [["ls", "--bogus"], /Unknown option '--bogus'/],
      [["ls", "extra"], /takes no arguments/],
      [["info"], /needs exactly one segment name/],
      [["cat", "x", "--offset", "-1"], /--offset must be a whole number >= 0, got '-1'/],
      [["cat", "x", "--length"], /--length needs a value/],
      [["cat", "x", "--json"], /'cat' does not take --json/],
      [["gc", "--grace", "soon"], /--grace must be a number of seconds/],
      [["info", "a/b"], /must not contain '\/'/],
    ];
    for (const [args, message] of bad) {
      const r = shmem(runtime, args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /shmem --help/);
      assert.equal(r.text, "");
    }
  });

  test(`${runtime}: shmem ls, info, cat, hexdump and rm, as a user runs them`, { skip: !linux }, () => {
    const name = testName();
    const seg = Segment.create(name, { size: 1 << 20, mode: 0o640 });
    seg.bytes().set(new TextEncoder().encode("hello, shmem!"), 100);
    try {
      const ls = shmem(runtime, ["ls", "--json"]);
      assert.equal(ls.status, 0, ls.stderr);
      const entry = (JSON.parse(ls.text) as Record<string, unknown>[]).find((s) => s.name === name);
      assert.ok(entry);
      assert.equal(entry.size, 1 << 20);
      assert.equal(entry.mode, 0o640);
      assert.equal(entry.held, true);
      assert.equal(entry.tracked, true);
      assert.equal(entry.creatorPid, process.pid);

      const table = shmem(runtime, ["ls"]);
      assert.equal(table.status, 0);
      assert.match(table.text, /^NAME\s+SIZE\s+MODE\s+OWNER\s+CHANGED\s+STATE$/m);
      assert.match(table.text, new RegExp(`^${name}\\s+1\\.0 MiB\\s+0640\\s+\\S+\\s+[\\d-]+ [\\d:]+\\s+held$`, "m"));

      const info = shmem(runtime, ["info", `/${name}`, "--json"]);
      assert.equal(info.status, 0, info.stderr);
      assert.equal(JSON.parse(info.text).name, name);
      assert.match(shmem(runtime, ["info", name]).text, /^held\s+yes/m);

      const cat = shmem(runtime, ["cat", name, "--offset", "100", "--length", "13"]);
      assert.equal(cat.status, 0, cat.stderr);
      assert.equal(cat.stdout.toString("utf8"), "hello, shmem!");
      assert.equal(shmem(runtime, ["cat", name]).stdout.length, 1 << 20);
      const past = shmem(runtime, ["cat", name, "--offset", String(2 << 20)]);
      assert.equal(past.status, 1);

      const hex = shmem(runtime, ["hexdump", name, "--offset", "96", "--length", "32"]);
      assert.equal(hex.status, 0, hex.stderr);
      assert.equal(
        hex.text,
        "00000060  00 00 00 00 68 65 6c 6c  6f 2c 20 73 68 6d 65 6d  |....hello, shmem|\n" +
          "00000070  21 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |!...............|\n" +
          "00000080\n",
      );

      const rm = shmem(runtime, ["rm", name, "--json"]);
      assert.equal(rm.status, 0, rm.stderr);
      assert.deepEqual(JSON.parse(rm.text), { removed: name });
      assert.equal(shmExists(name), false);
      assert.equal(seg.bytes()[100], 0x68, "the open mapping lives on");
      for (const args of [["rm", name], ["info", name], ["cat", name], ["hexdump", name]]) {
        const gone = shmem(runtime, args);
        assert.equal(gone.status, 1, `${args.join(" ")}: ${gone.stderr}`);
        assert.match(gone.stderr, /ENOENT/);
      }
    } finally {
      seg.close();
      rmSync(`/dev/shm/${name}`, { force: true });
    }
  });

  test(`${runtime}: shmem gc removes only unheld segments shmem made`, { skip: !linux }, () => {
    const prefix = testName();
    const orphan = `${prefix}_orphan`;
    const foreign = `${prefix}_foreign`;
    const held = `${prefix}_held`;
    Segment.create(orphan, { size: 4096 }).close();
    Segment.create(foreign, { size: 4096, track: false }).close();
    const live = Segment.create(held, { size: 4096 });
    try {
      const young = shmem(runtime, ["gc", "--prefix", prefix, "--json"]);
      assert.equal(young.status, 0, young.stderr);
      assert.deepEqual(JSON.parse(young.text).removed, [], "inside the default grace period");

      const dry = shmem(runtime, ["gc", "--dry-run", "--grace", "0", "--prefix", prefix]);
      assert.equal(dry.status, 0, dry.stderr);
      assert.match(dry.text, new RegExp(`^would remove ${orphan} \\(4\\.0 KiB`, "m"));
      assert.match(dry.text, /Would remove 1 leaked segment/);
      assert.ok(shmExists(orphan));

      const gc = shmem(runtime, ["gc", "--grace=0", `--prefix=${prefix}`, "--json"]);
      assert.equal(gc.status, 0, gc.stderr);
      const out = JSON.parse(gc.text);
      assert.equal(out.dryRun, false);
      assert.deepEqual(out.removed.map((s: { name: string }) => s.name), [orphan]);
      assert.equal(shmExists(orphan), false);
      assert.ok(shmExists(foreign) && shmExists(held));
    } finally {
      live.close();
      for (const name of [orphan, foreign, held]) rmSync(`/dev/shm/${name}`, { force: true });
    }
  });
}

test("shmem hexdump prints what hexdump -C prints, across its 1 MiB chunks", {
  skip: !linux || spawnSync("hexdump", ["-C", "/dev/null"]).status !== 0,
}, () => {
  const name = testName();
  const bytes = new Uint8Array(3 << 20);
  bytes.set(new TextEncoder().encode("hello, shmem!"), 100);
  bytes[(1 << 20) + 5] = 0xff;
  bytes[2 << 20] = 1;
  bytes.set(Array.from({ length: 256 }, (_, i) => i), (3 << 20) - 300);
  writeFileSync(`/dev/shm/${name}`, bytes);
  try {
    const expected = spawnSync("hexdump", ["-C", `/dev/shm/${name}`], { encoding: "utf8" }).stdout;
    for (const runtime of RUNTIMES) assert.equal(shmem(runtime, ["hexdump", name]).text, expected, runtime);
    const window = spawnSync("hexdump", ["-C", "-s", "17", "-n", "99", `/dev/shm/${name}`], { encoding: "utf8" });
    assert.equal(shmem(RUNTIMES[0], ["hexdump", name, "--offset", "17", "--length", "99"]).text, window.stdout);
  } finally {
    rmSync(`/dev/shm/${name}`, { force: true });
  }
});
