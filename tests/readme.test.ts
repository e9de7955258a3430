// Every ```ts block of README.md runs as written, with its import of the package pointed at this checkout: in Deno
// (with --allow-ffi only, as the README promises), Bun, Node 24 and Node 22 when it is there. A block may be left out
// with `<!-- not run: reason -->` on the line directly above it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CHILD_RUNTIMES, command, OS, ROOT, type Runtime } from "./helpers.ts";

interface Block {
  line: number;
  code: string;
  skip?: string;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```ts") continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `README.md:${i + 1}: a \`\`\`ts block that never ends`);
    const mark = /^<!-- not run: (.+) -->$/.exec(lines[i - 1] ?? "");
    out.push({ line: i + 1, code: lines.slice(i + 1, end).join("\n") + "\n", skip: mark?.[1] });
    i = end;
  }
  return out;
}

const MOD = pathToFileURL(join(ROOT, "mod.ts")).href;

/** The block as a user writes it, with `"shmem"` / `"jsr:@shmem/shmem"` pointed at this checkout. */
function localize(code: string): string {
  return code.replace(/from "(?:shmem|jsr:@shmem\/shmem|@shmem\/shmem)"/g, `from ${JSON.stringify(MOD)}`);
}

/** The segment names a block can make: its string literals passed to create, and its uniqueName prefixes. */
function namesOf(code: string): { exact: string[]; prefixes: string[] } {
  const exact = [...code.matchAll(/\.create\("([^"]+)"/g)].map((m) => m[1]);
  const prefixes = [...code.matchAll(/uniqueName\("([^"]+)"\)/g)].map((m) => m[1]);
  return { exact, prefixes };
}

function argv(runtime: Runtime): string[] {
  // Deno with only what the README's install table says it needs.
  return runtime === "deno" ? [command("deno")[0], "run", "--allow-ffi", "--quiet"] : command(runtime);
}

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const all = blocks(readme);

test("README.md has runnable ts blocks, and few are left out", () => {
  assert.ok(all.length >= 3, `found ${all.length} ts blocks`);
  assert.ok(all.filter((b) => b.skip).length <= 2, "keep the `not run` marks few");
  for (const b of all) {
    if (!b.skip) {
      assert.doesNotMatch(b.code, /from "\.\/mod\.ts"/, `README.md:${b.line} imports ./mod.ts, not the package`);
    }
  }
});

for (const block of all) {
  test(`README.md:${block.line} runs as written`, { skip: block.skip ?? (OS !== "linux" && "Linux only") }, () => {
    const dir = mkdtempSync(join(tmpdir(), "shmem-readme-"));
    const { exact, prefixes } = namesOf(block.code);
    const ours = (n: string) => exact.includes(n) || prefixes.some((p) => n.startsWith(p));
    const before = new Set(readdirSync("/dev/shm").filter(ours));
    try {
      const file = join(dir, `block_${block.line}.ts`);
      writeFileSync(file, localize(block.code));
      for (const runtime of CHILD_RUNTIMES) {
        const [exe, ...pre] = argv(runtime);
        const r = spawnSync(exe, [...pre, file], { encoding: "utf8", timeout: 60_000, cwd: dir });
        assert.equal(r.status, 0, `${runtime}: status ${r.status}, signal ${r.signal}\n${r.stdout}\n${r.stderr}`);
        const left = readdirSync("/dev/shm").filter((n) => ours(n) && !before.has(n));
        assert.deepEqual(left, [], `${runtime} left segments behind`);
        for (const n of exact) assert.equal(existsSync(`/dev/shm/${n}`), before.has(n), `${runtime} left '${n}'`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
