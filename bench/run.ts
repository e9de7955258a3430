// Runs the segment benchmarks in Deno, Bun and Node and Python's baseline in
// one go, and prints a Markdown table of medians and ratios.
// Usage: node bench/run.ts [rounds=7] [cycles-per-round=2000]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const [rounds = "7", perRound = "2000"] = process.argv.slice(2);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const bin = (p: string) => here(`../node_modules/.bin/${p}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function json(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const py = json("python3", [here("segment_lifecycle.py"), rounds, perRound]);
const pyRate = median(py.cycles_per_s);
const rows = [
  ["deno", [bin("deno"), "run", "--allow-all", "--quiet"]],
  ["bun", [bin("bun"), "run"]],
  ["node", [bin("node"), "--no-warnings"]],
] as const;

console.log(
  `Create + map + write + close + unlink of a 4 KiB segment (reservation on), median of ${rounds} rounds of ${perRound};`,
);
console.log(`open an existing segment and get its whole view, median of 400.\n`);
console.log("| runtime | cycles/s | vs Python | open 4 KiB | open 1 GiB | 1 GiB / 4 KiB |");
console.log("|---|---:|---:|---:|---:|---:|");
console.log(`| python3 shared_memory | ${Math.round(pyRate).toLocaleString("en")} | 1.00× | | | |`);
for (const [name, cmd] of rows) {
  const r = json(cmd[0], [...cmd.slice(1), here("segment.bench.ts"), rounds, perRound]);
  const rate = median(r.cycles_per_s);
  const us = (s: number) => `${(s * 1e6).toFixed(1)} µs`;
  console.log(
    `| ${name} | ${Math.round(rate).toLocaleString("en")} | ${(rate / pyRate).toFixed(2)}× | ${us(r.open_4k_s)} | ${
      us(r.open_1g_s)
    } | ${(r.open_1g_s / r.open_4k_s).toFixed(2)}× |`,
  );
}
