// shmem as a user gets it: the packed npm package installed into a fresh
// project (offline, from tarballs only), imported by name from Node 24,
// Node 22 and Bun, required from CommonJS, its command run with npx and
// bun x, a user file type-checked strictly against the published .d.ts; and
// Deno importing the published JSR file set from a local http server (as a
// JSR import arrives) and from a path, with --allow-ffi only.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { NODE22, OS, ROOT } from "./helpers.ts";

const BIN = join(ROOT, "node_modules", ".bin");
const FIXTURES = join(ROOT, "tests", "consumer");
const skip = OS !== "linux" ? "the packed-package test runs on Linux" : false;

let work = "";
let app = "";
// The project's own Node, npm and Bun first on PATH, as in a user's shell.
const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}`, npm_config_audit: "false", npm_config_fund: "false" };

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), "shmem-consumer-"));
  app = join(work, "app");
  mkdirSync(app);
  // npm pack runs the build (prepack); koffi comes from the tarball of the copy npm ci installed.
  sh("npm", ["pack", "--silent", "--pack-destination", work], ROOT);
  sh("npm", ["pack", "--silent", "--pack-destination", work, join(ROOT, "node_modules", "koffi")], ROOT);
  const koffi = JSON.parse(readFileSync(join(ROOT, "node_modules", "koffi", "package.json"), "utf8")).version;
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }),
  );
  sh("npm", ["install", "--offline", join(work, `shmem-${version}.tgz`), join(work, `koffi-${koffi}.tgz`)], app);
  for (const f of ["app.mjs", "child.mjs", "require.cjs", "typed.ts"]) copyFileSync(join(FIXTURES, f), join(app, f));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const runtimes: [string, string[]][] = [["node24", [join(BIN, "node")]], ["bun", [join(BIN, "bun"), "run"]]];
if (existsSync(NODE22)) runtimes.push(["node22", [NODE22]]);

for (const [label, cmd] of runtimes) {
  test(`${label}: import "shmem" and share with a child: open, waitAsync, recvAsync, lockAsync`, { skip }, () => {
    const out = sh(cmd[0], [...cmd.slice(1), "app.mjs", ...cmd], app, 120_000);
    assert.equal(out.trim(), "ok");
  });
}

for (const [label, cmd] of runtimes.filter(([l]) => l !== "bun")) {
  test(`${label}: require("shmem") from CommonJS`, { skip }, () => {
    assert.equal(sh(cmd[0], ["require.cjs"], app).trim(), "ok");
  });
}

test("npx shmem ls and bun x shmem ls run the installed command", { skip }, () => {
  for (
    const [cmd, args] of [["npx", ["--offline", "shmem", "ls", "--json"]], [join(BIN, "bun"), [
      "x",
      "shmem",
      "ls",
      "--json",
    ]]] as const
  ) {
    const out = sh(cmd, [...args], app);
    assert.ok(Array.isArray(JSON.parse(out)), `${cmd} printed ${out}`);
    const help = spawnSync(cmd, [...args.slice(0, -2), "--help"], { cwd: app, env, encoding: "utf8" });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /shmem/);
  }
});

test("a user file type-checks with tsc --strict --module nodenext and only @types/node", { skip }, () => {
  // No skipLibCheck: the published .d.ts must be clean; no Deno or Bun types are present.
  sh(join(BIN, "tsc"), [
    "--strict",
    "--noEmit",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--typeRoots",
    join(ROOT, "node_modules", "@types"),
    "--types",
    "node",
    "typed.ts",
  ], app);
  const dts = readFileSync(join(app, "node_modules", "shmem", "dist", "mod.d.ts"), "utf8");
  assert.doesNotMatch(dts, /\bDeno\.|bun:ffi/);
});

/** The files `deno publish` would upload, as its dry run lists them. */
function publishedFiles(): string[] {
  const r = spawnSync(join(BIN, "deno"), ["publish", "--dry-run", "--allow-dirty"], {
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const text = r.stdout + r.stderr;
  assert.doesNotMatch(text, /warning/i, "deno publish --dry-run must be free of warnings");
  const files = [...text.matchAll(/^\s+file:\/\/(\S+) \(/gm)].map((m) => m[1]);
  assert.ok(files.some((f) => f.endsWith("/mod.ts")), text);
  return files;
}

/** Runs an entry file that statically imports shmem from `specifier`, as a user's program does. */
function denoRun(specifier: string, extra: string[]): Promise<{ status: number | null; out: string }> {
  const entry = join(work, `entry_${extra.length}.ts`);
  const lines = [`import * as shmem from ${JSON.stringify(specifier)};`, `import { main } from "./deno_app.ts";`];
  writeFileSync(entry, [...lines, "await main(shmem);", ""].join("\n"));
  return new Promise((resolve) => {
    const p = spawn(join(BIN, "deno"), ["run", "--quiet", "--allow-ffi", ...extra, entry], {
      cwd: work,
      env: { ...env, DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
}

test("deno: the published file set over http and from a path, with --allow-ffi only", { skip }, async () => {
  const site = join(work, "site");
  for (const file of publishedFiles()) {
    const rel = file.slice(ROOT.replace(/\/$/, "").length + 1);
    mkdirSync(dirname(join(site, rel)), { recursive: true });
    cpSync(file, join(site, rel));
  }
  // The user's code, its type-only import pointed at the published copy.
  const code = readFileSync(join(FIXTURES, "deno_app.ts"), "utf8").replace('"../../mod.ts"', '"./site/mod.ts"');
  writeFileSync(join(work, "deno_app.ts"), code);
  const server: Server = createServer((req, res) => {
    const path = join(site, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (!path.startsWith(site) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    const type = path.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
    res.writeHead(200, { "content-type": type }).end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const host = `127.0.0.1:${port}`;
    const remote = await denoRun(`http://${host}/mod.ts`, [`--allow-import=${host}`]);
    assert.equal(remote.status, 0, remote.out);
    assert.equal(remote.out.trim(), "ok", `remote: ${JSON.stringify(remote)}`);
    const local = await denoRun(join(site, "mod.ts"), []);
    assert.equal(local.status, 0, local.out);
    assert.equal(local.out.trim(), "ok");
  } finally {
    server.close();
  }
});
