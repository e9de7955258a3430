// MappedFile on Windows against the named Segment, measured in the same run,
// in the Windows runtime that runs this file (under Wine on Linux).
// Usage: tools/wine/run.sh <bun|deno|node|node22> bench/windows_file.bench.ts [rounds=7] [cycles=300]
//   (deno: tools/wine/run.sh deno run --allow-all bench/windows_file.bench.ts ...)
// Prints a Markdown table: median cycles/s per operation and the ratio to Segment.
import { mkdtempSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFile, Segment, uniqueName } from "../mod.ts";

const [rounds = 7, cycles = 300] = process.argv.slice(2).map(Number);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : `node ${process.versions.node}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// An absolute folder: Bun under Wine cannot create files from relative paths.
const dir = mkdtempSync(join(tmpdir(), "shmem-bench-"));
const SIZE = 4096;

const existing = join(dir, "existing.bin");
MappedFile.open(existing, { create: true, size: SIZE }).close();
const kept = MappedFile.open(join(dir, "kept.bin"), { create: true, size: 1 << 20 });
let fresh = 0;

const operations: [string, () => void][] = [
  ["Segment create+close (baseline)", () => {
    const seg = Segment.create(uniqueName(), { size: SIZE });
    seg.bytes()[0] = 1;
    seg.close();
  }],
  ["MappedFile open existing+close", () => {
    const file = MappedFile.open(existing);
    file.bytes()[0] = 1;
    file.close();
  }],
  ["MappedFile create new+close+delete", () => {
    const path = join(dir, `new${fresh++}.bin`);
    const file = MappedFile.open(path, { create: true, size: SIZE });
    file.bytes()[0] = 1;
    file.close();
    rmSync(path);
  }],
  ["flush 4 KiB of a 1 MiB file", () => {
    kept.bytes()[fresh++ % (1 << 20)] = 1;
    kept.flush(0, SIZE);
  }],
];

const rates: number[][] = operations.map(() => []);
for (let round = 0; round < rounds; round++) {
  operations.forEach(([, op], i) => {
    op(); // warm
    const start = performance.now();
    for (let c = 0; c < cycles; c++) op();
    rates[i].push(cycles / ((performance.now() - start) / 1000));
  });
}
kept.close();
// One by one: Bun under Wine fails a recursive rmSync (EFAULT).
for (const name of readdirSync(dir)) rmSync(join(dir, name));
rmdirSync(dir);

const base = median(rates[0]);
console.log(`Windows ${runtime}: median of ${rounds} rounds of ${cycles}`);
console.log("| operation | ops/s | vs Segment |");
console.log("|---|---:|---:|");
operations.forEach(([name], i) => {
  const rate = median(rates[i]);
  console.log(`| ${name} | ${Math.round(rate)} | ${(rate / base).toFixed(2)} |`);
});
