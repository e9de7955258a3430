// Lifecycle cost of each kind of shared memory against the named POSIX
// Segment, measured in the same run, in the runtime that runs this file.
// Usage: <runtime> bench/kinds.bench.ts [rounds=7] [cycles=1000]
// Prints a Markdown table: median cycles/s per kind and the ratio to Segment.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnonymousSegment, MappedFile, Segment, SysvSegment, uniqueName } from "../mod.ts";

const [rounds = 7, cycles = 1000] = process.argv.slice(2).map(Number);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), "shmem-bench-"));
const SIZE = 4096;

const kinds: [string, () => void][] = [
  ["Segment create+unlink (baseline)", () => {
    const seg = Segment.create(uniqueName(), { size: SIZE });
    seg.bytes()[0] = 1;
    seg.close();
    seg.unlink();
  }],
  ["AnonymousSegment create", () => {
    const seg = AnonymousSegment.create({ size: SIZE });
    seg.bytes()[0] = 1;
    seg.close();
  }],
  ["SysvSegment create+remove", () => {
    const seg = SysvSegment.create({ size: SIZE });
    seg.bytes()[0] = 1;
    seg.remove();
    seg.close();
  }],
  [
    "MappedFile open existing",
    (() => {
      const path = join(dir, "f.bin");
      MappedFile.open(path, { create: true, size: SIZE }).close();
      return () => {
        const file = MappedFile.open(path);
        file.bytes()[0] = 1;
        file.close();
      };
    })(),
  ],
];

// Opening 16 MiB: live views vs the private copy that SysV read-only opens make.
const BIG = 16 << 20;
const big = SysvSegment.create({ size: BIG });
const opens: [string, () => void][] = [
  ["SysvSegment open 16 MiB read-write (baseline)", () => {
    const s = SysvSegment.open(big.id);
    s.bytes()[0];
    s.close();
  }],
  ["SysvSegment open 16 MiB readOnly (private copy)", () => {
    const s = SysvSegment.open(big.id, { readOnly: true });
    s.bytes()[0];
    s.close();
  }],
];

function measure(list: [string, () => void][], n: number) {
  const rates = new Map<string, number[]>(list.map(([name]) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of list) {
      for (let i = 0; i < 50; i++) fn();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      rates.get(name)!.push(n / ((performance.now() - t0) / 1000));
    }
  }
  const base = median(rates.get(list[0][0])!);
  for (const [name] of list) {
    const m = median(rates.get(name)!);
    console.log(`| ${runtime} | ${name} | ${Math.round(m).toLocaleString("en")} | ${(m / base).toFixed(2)}× |`);
  }
}

console.log("| runtime | operation (4 KiB unless said) | median ops/s | vs baseline |");
console.log("|---|---|---:|---:|");
try {
  measure(kinds, cycles);
  measure(opens, Math.max(10, Math.floor(cycles / 10)));
} finally {
  big.remove();
  big.close();
  rmSync(dir, { recursive: true, force: true });
}
