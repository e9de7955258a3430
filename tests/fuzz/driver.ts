// Fuzz driver: runs tests/fuzz/child.ts in each runtime as a child with a time
// limit and reports calls, crashes by signal, hangs, unexpected error classes
// and leaked descriptors, mappings, names and System V segments, with the seed
// and the last calls of any failure.
//
//   npm run fuzz -- [--seed N] [--calls N] [--runtime deno|bun|node|all] [--time-limit SECONDS]
//   (or FUZZ_SEED, FUZZ_CALLS, FUZZ_RUNTIME, FUZZ_TIME_LIMIT)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, type Runtime, RUNTIMES, withGc } from "../helpers.ts";

/** What one fuzz process did. */
export interface FuzzReport {
  runtime: Runtime;
  seed: number;
  calls: number;
  /** How many of them were calls on services. */
  serviceCalls: number;
  crashed: string | null;
  hung: boolean;
  unexpected: { call: string; error: string; last: string[] }[];
  leaks: { fds: number; maps: number; names: number; sysv: number };
  /** The names left behind, without the run's prefix. */
  leakedNames: string[];
  byClass: Record<string, number>;
  /** The last calls logged before a crash or a hang. */
  lastCalls: string[];
  stderr: string;
}

/** Runs one fuzz process in `runtime`. */
export function fuzz(runtime: Runtime, seed: number, calls: number, timeLimitMs: number): FuzzReport {
  const prefix = `fz${seed.toString(36)}${runtime.slice(0, 1)}${process.pid.toString(36)}`;
  const log = join(tmpdir(), `${prefix}.log`);
  const [exe, ...args] = withGc(runtime);
  const r = spawnSync(exe, [
    ...args,
    fileURLToPath(new URL("./child.ts", import.meta.url)),
    String(seed),
    String(calls),
    log,
    prefix,
  ], {
    encoding: "utf8",
    cwd: ROOT,
    timeout: timeLimitMs,
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
  });
  const hung = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT";
  const lastCalls = existsSync(log) ? readFileSync(log, "utf8").trimEnd().split("\n").slice(-15) : [];
  rmSync(log, { force: true });
  // Whatever a killed child left behind is not a leak of the library; remove it.
  for (const name of readdirSync("/dev/shm")) if (name.startsWith(prefix)) rmSync(`/dev/shm/${name}`, { force: true });
  rmSync(join(tmpdir(), prefix), { recursive: true, force: true });
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  let result: Partial<FuzzReport> = {};
  try {
    result = JSON.parse(line);
  } catch {
    // no report: crashed or hung
  }
  const crashed = hung ? null : r.signal ?? (r.status === 0 ? null : `exit ${r.status}`);
  return {
    runtime,
    seed,
    calls: result.calls ?? Number(lastCalls.at(-1)?.split(" ")[0] ?? 0),
    serviceCalls: result.serviceCalls ?? 0,
    crashed,
    hung,
    unexpected: result.unexpected ?? [],
    leaks: result.leaks ?? { fds: 0, maps: 0, names: 0, sysv: 0 },
    leakedNames: result.leakedNames ?? [],
    byClass: result.byClass ?? {},
    lastCalls: crashed || hung ? lastCalls : [],
    stderr: r.stderr ?? "",
  };
}

/** Whether a report shows no crash, hang, unexpected error or leak. */
export function clean(r: FuzzReport): boolean {
  return !r.crashed && !r.hung && r.unexpected.length === 0 && Object.values(r.leaks).every((n) => n === 0);
}

/** A few lines describing a report; a failure names the seed, the command to repeat it and the last calls. */
export function describe(r: FuzzReport): string {
  const leaks = `leaks: ${r.leaks.fds} fds, ${r.leaks.maps} mappings, ${r.leaks.names} names, ${r.leaks.sysv} SysV`;
  const lines = [
    `${r.runtime}: ${r.calls} calls (${r.serviceCalls} on services), seed ${r.seed}, crash: ${
      r.crashed ?? "none"
    }, hang: ${r.hung ? "yes" : "no"}, ` +
    `unexpected errors: ${r.unexpected.length}, ${leaks}`,
  ];
  if (!clean(r)) {
    lines.push(`  repeat: npm run fuzz -- --runtime ${r.runtime} --seed ${r.seed} --calls ${r.calls}`);
    for (const u of r.unexpected.slice(0, 3)) {
      lines.push(`  unexpected in ${u.call}: ${u.error.split("\n")[0]}`, `    after: ${u.last.slice(-8).join(" | ")}`);
    }
    if (r.leakedNames.length > 0) lines.push(`  names left: ${r.leakedNames.join(" ")}`);
    if (r.lastCalls.length > 0) lines.push(`  last calls:`, ...r.lastCalls.map((c) => `    ${c}`));
    if (r.crashed || r.hung) lines.push(`  stderr: ${r.stderr.slice(-2000)}`);
  }
  return lines.join("\n");
}

function option(flag: string, env: string, fallback: string): string {
  const at = process.argv.indexOf(flag);
  if (at >= 0 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  return process.env[env] ?? fallback;
}

if (import.meta.main ?? process.argv[1] === fileURLToPath(import.meta.url)) {
  const seed = Number(option("--seed", "FUZZ_SEED", String(Date.now() % 1e9)));
  const calls = Number(option("--calls", "FUZZ_CALLS", "100000"));
  const which = option("--runtime", "FUZZ_RUNTIME", "all");
  const limit = Number(option("--time-limit", "FUZZ_TIME_LIMIT", String(Math.max(120, calls / 250)))) * 1000;
  const runtimes = which === "all" ? RUNTIMES : which.split(",") as Runtime[];
  let failed = false;
  for (const runtime of runtimes) {
    const started = Date.now();
    const report = fuzz(runtime, seed, calls, limit);
    console.log(`${describe(report)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`  errors by class: ${JSON.stringify(report.byClass)}`);
    failed ||= !clean(report);
  }
  process.exit(failed ? 1 : 0);
}
