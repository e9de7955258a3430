/**
 * The `shmem` command: list, inspect, dump, remove and collect named
 * shared-memory segments.
 *
 * Run it with Deno (`deno run --allow-ffi --allow-read --allow-write cli.ts ls`),
 * Bun (`bun cli.ts ls`), Node 24 (`node cli.ts ls`), or through the package's
 * `shmem` bin. Exit codes: 0 success, 1 failure (such as `ENOENT`), 2 usage
 * error.
 *
 * @example List segments as JSON from a script
 * ```ts
 * import { main } from "./cli.ts";
 * const code = await main(["ls", "--json"]); // prints a JSON array, returns 0
 * ```
 *
 * @module
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { Segment } from "./segment.ts";
import { ShmError } from "./errors.ts";
import { inspectSegment } from "./internal/inventory.ts";
import { describeService } from "./service/list.ts";
import type { SegmentInfo, ServiceInfo } from "./types.ts";

/** The help text (`shmem --help`). */
export const HELP = `shmem: named shared-memory segments, and the leaks crashed programs leave behind

Usage: shmem <command> [options]

Commands:
  ls                      List the named segments this user can see (Linux), and the services among them
  info <name>             Show one segment: size, mode, owner, holders, creator
  cat <name>              Write its bytes to stdout
        --offset N          start at byte N (default 0)
        --length N          write N bytes (default: to the end)
  hexdump <name>          Show its bytes in hex and ASCII (like hexdump -C)
        --offset N, --length N   as for cat
  rm <name>               Remove the name (processes that have it open keep it)
  gc                      Remove the segments shmem created that no process holds
        --dry-run           only show what would be removed
        --grace SECONDS     leave segments younger than this (default 10)
        --prefix P          only names starting with P

Options:
  --json                  Machine-readable output (ls, info, rm, gc)
  -h, --help              Show this help

In ls, STATE is "held" (a process has it open through shmem), "orphan"
(shmem made it and nobody holds it: gc removes it), "-" (made by another
program; shmem cannot tell whether it is in use) or "?" (not readable).

Exit codes: 0 success, 1 failure (no such segment, permission denied, ...),
2 usage error.`;

/** A command-line mistake: exit code 2. */
class UsageError extends Error {}

interface Parsed {
  readonly command: string | undefined;
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(["--offset", "--length", "--grace", "--prefix"]);
const BOOLEAN_FLAGS = new Set(["--json", "--dry-run", "--help", "-h"]);
const ALLOWED: Readonly<Record<string, { args: number; flags: readonly string[] }>> = {
  ls: { args: 0, flags: ["--json"] },
  info: { args: 1, flags: ["--json"] },
  cat: { args: 1, flags: ["--offset", "--length"] },
  hexdump: { args: 1, flags: ["--offset", "--length"] },
  rm: { args: 1, flags: ["--json"] },
  gc: { args: 0, flags: ["--json", "--dry-run", "--grace", "--prefix"] },
};

function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("-") && arg !== "-") {
      const eq = arg.indexOf("=");
      const key = eq > 0 ? arg.slice(0, eq) : arg;
      if (VALUE_FLAGS.has(key)) {
        const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`Option ${key} needs a value`);
        flags.set(key, value);
      } else if (BOOLEAN_FLAGS.has(key) && eq < 0) {
        flags.set(key, true);
      } else {
        throw new UsageError(`Unknown option '${arg}'`);
      }
      continue;
    }
    positional.push(arg);
  }
  const [command, ...rest] = positional;
  return { command, positional: rest, flags };
}

function integerFlag(flags: Map<string, string | true>, key: string): number | undefined {
  const raw = flags.get(key);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`Option ${key} must be a whole number >= 0, got '${raw}'`);
  }
  return n;
}

/** 1536 -> "1.5 KiB". */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

let users: Map<number, string> | undefined;

function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
        const [name, , id] = line.split(":");
        if (name && id !== undefined && !users.has(Number(id))) users.set(Number(id), name);
      }
    } catch {
      // No passwd file: numbers only.
    }
  }
  return users.get(uid) ?? String(uid);
}

function state(s: SegmentInfo): string {
  if (s.held === true) return "held";
  if (s.held === undefined) return "?";
  return s.tracked ? "orphan" : "-";
}

function when(d: Date | undefined): string {
  if (!d) return "-";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function table(rows: string[][], rightAligned: readonly number[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r.map((cell, c) =>
      c === r.length - 1 ? cell : rightAligned.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])
    ).join("  ")
  ).join("\n");
}

function toJson(s: SegmentInfo): Record<string, unknown> {
  return {
    name: s.name,
    size: s.size,
    mode: s.mode,
    uid: s.uid,
    changed: s.changed.toISOString(),
    held: s.held ?? null,
    tracked: s.tracked ?? null,
    created: s.created?.toISOString() ?? null,
    creatorPid: s.creatorPid ?? null,
  };
}

function listing(list: SegmentInfo[]): string {
  const rows = [["NAME", "SIZE", "MODE", "OWNER", "CHANGED", "STATE"]];
  for (const s of list) {
    rows.push([
      s.name,
      humanSize(s.size),
      s.mode.toString(8).padStart(4, "0"),
      userName(s.uid),
      when(s.changed),
      state(s),
    ]);
  }
  return table(rows, [1]);
}

/** The services among the listed segments, below the segments' table. */
function serviceListing(services: ServiceInfo[]): string {
  const rows = [["SERVICE", "KIND", "VERSION", "CAPACITY", "PAYLOAD", "LIVE"]];
  for (const v of services) {
    const live = Object.entries(v.live).map(([role, n]) => `${n} ${role}`).join(", ");
    rows.push([v.name, v.kind, String(v.version), String(v.capacity), humanSize(v.payloadBytes), live]);
  }
  return table(rows, [3]);
}

function details(s: SegmentInfo): string {
  const rows = [
    ["name", s.name],
    ["size", `${humanSize(s.size)} (${s.size} bytes)`],
    ["mode", s.mode.toString(8).padStart(4, "0")],
    ["owner", `${userName(s.uid)} (uid ${s.uid})`],
    ["changed", s.changed.toISOString()],
    ["held", s.held === undefined ? "unknown (cannot open it)" : s.held ? "yes, by a live process" : "no shmem holder"],
    [
      "tracked",
      s.tracked === undefined ? "unknown" : s.tracked ? "yes (made by shmem)" : "no (made by another program)",
    ],
    ["created", s.created ? `${s.created.toISOString()} by pid ${s.creatorPid}` : "-"],
    ["state", state(s)],
  ];
  return table(rows, []);
}

/** `hexdump -C` style lines for `bytes` starting at `base`. */
export function hexLines(
  bytes: Uint8Array,
  base: number,
  state: { previous: string; starred: boolean } = { previous: "", starred: false },
): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, Math.min(i + 16, bytes.length));
    const key = Array.from(row).join(",");
    if (key === state.previous && row.length === 16) {
      if (!state.starred) out.push("*");
      state.starred = true;
      continue;
    }
    state.previous = key;
    state.starred = false;
    let hex = "";
    let text = "";
    for (let j = 0; j < 16; j++) {
      hex += j < row.length ? row[j].toString(16).padStart(2, "0") + " " : "   ";
      if (j === 7) hex += " ";
      if (j < row.length) text += row[j] >= 0x20 && row[j] < 0x7f ? String.fromCharCode(row[j]) : ".";
    }
    out.push(`${(base + i).toString(16).padStart(8, "0")}  ${hex} |${text}|`);
  }
  out.push((base + bytes.length).toString(16).padStart(8, "0"));
  return out;
}

/** Raised when the reader of stdout went away (`shmem cat X | head`): the command stops quietly, as cat does. */
class BrokenPipe extends Error {}

function isBrokenPipe(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown } | null;
  return e !== null && typeof e === "object" && (e.code === "EPIPE" || e.name === "BrokenPipe");
}

let stdoutGuarded = false;

function write(chunk: string | Uint8Array): Promise<void> {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    // Without a listener, a closed pipe is an unhandled 'error' event that ends the process with a stack trace.
    process.stdout.on("error", () => {});
  }
  return new Promise((resolve, reject) => {
    try {
      process.stdout.write(
        chunk,
        (error?: Error | null) => (error ? reject(isBrokenPipe(error) ? new BrokenPipe() : error) : resolve()),
      );
    } catch (error) {
      reject(isBrokenPipe(error) ? new BrokenPipe() : error);
    }
  });
}

/** The value of `--offset`/`--length`, checked against the segment's size so a message names the flag. */
function window(seg: Segment, asked: { offset: number; length?: number }): { offset: number; length: number } {
  const offset = asked.offset;
  if (offset > seg.size) {
    throw new RangeError(`Option --offset must be from 0 to ${seg.size} (the segment's size), got ${offset}`);
  }
  const length = asked.length ?? seg.size - offset;
  if (length > seg.size - offset) {
    throw new RangeError(
      `Option --length must be from 0 to ${seg.size - offset} (the bytes after --offset ${offset}), got ${length}`,
    );
  }
  return { offset, length };
}

async function dump(name: string, flags: Map<string, string | true>, hex: boolean): Promise<void> {
  const asked = { offset: integerFlag(flags, "--offset") ?? 0, length: integerFlag(flags, "--length") };
  const seg = Segment.open(name, { readOnly: true });
  try {
    const { offset, length } = window(seg, asked);
    const region = seg.region(offset, length);
    const step = 1 << 20;
    const state = { previous: "", starred: false };
    // Nothing to show prints nothing, as `hexdump -C -n 0` does.
    for (let at = 0; at < region.length; at += step) {
      // Copy before writing: stdout may still be writing after the segment closes.
      const bytes = seg.region(offset + at, Math.min(step, region.length - at)).bytes().slice();
      if (hex) {
        const lines = hexLines(bytes, offset + at, state);
        if (at + step < region.length) lines.pop();
        if (lines.length > 0) await write(lines.join("\n") + "\n");
      } else {
        await write(bytes);
      }
    }
  } finally {
    seg.close();
  }
}

async function runCommand(p: Parsed): Promise<void> {
  const json = p.flags.has("--json");
  const [name] = p.positional;
  const out = (text: string) => write(text + "\n");
  switch (p.command) {
    case "ls": {
      const list = Segment.list();
      const services = new Map(list.map((s) => [s.name, describeService(s.name)]));
      const entry = (s: SegmentInfo) => ({ ...toJson(s), service: services.get(s.name) ?? null });
      const found = [...services.values()].filter((v) => v !== undefined);
      const text = list.length ? listing(list) + (found.length ? "\n\n" + serviceListing(found) : "") : "No segments.";
      await out(json ? JSON.stringify(list.map(entry), null, 2) : text);
      return;
    }
    case "info": {
      const s = inspectSegment(name);
      await out(json ? JSON.stringify(toJson(s), null, 2) : details(s));
      return;
    }
    case "cat":
      return dump(name, p.flags, false);
    case "hexdump":
      return dump(name, p.flags, true);
    case "rm":
      Segment.unlink(name);
      await out(json ? JSON.stringify({ removed: name.replace(/^\//, "") }) : `removed ${name.replace(/^\//, "")}`);
      return;
    case "gc": {
      const grace = p.flags.get("--grace");
      let graceMs = 10_000;
      if (grace !== undefined) {
        const n = Number(grace);
        if (typeof grace !== "string" || grace.trim() === "" || !Number.isFinite(n) || n < 0) {
          throw new UsageError(`Option --grace must be a number of seconds >= 0, got '${grace}'`);
        }
        graceMs = n * 1000;
      }
      const dryRun = p.flags.has("--dry-run");
      const prefix = p.flags.get("--prefix");
      const removed = Segment.collect({ dryRun, graceMs, prefix: typeof prefix === "string" ? prefix : "" });
      if (json) {
        await out(JSON.stringify({ dryRun, removed: removed.map(toJson) }, null, 2));
        return;
      }
      const verb = dryRun ? "would remove" : "removed";
      const lines = removed.map((s) => `${verb} ${s.name} (${humanSize(s.size)}, created ${when(s.created)})`);
      const total = removed.reduce((n, s) => n + s.size, 0);
      lines.push(`${dryRun ? "Would remove" : "Removed"} ${removed.length} leaked segment(s), ${humanSize(total)}.`);
      await out(lines.join("\n"));
      return;
    }
  }
}

/**
 * Runs the command with `args` (without the runtime and script) and returns
 * its exit code: 0 success, 1 failure, 2 usage error. Output goes to stdout,
 * errors to stderr.
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * const code = await main(["gc", "--dry-run"]);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(args);
    if (p.flags.has("--help") || p.flags.has("-h") || p.command === "help") {
      await write(HELP + "\n");
      return 0;
    }
    if (p.command === undefined) throw new UsageError("No command given");
    const spec = ALLOWED[p.command];
    if (!spec) throw new UsageError(`Unknown command '${p.command}'`);
    if (p.positional.length !== spec.args) {
      throw new UsageError(
        spec.args === 0
          ? `'${p.command}' takes no arguments, got '${p.positional.join(" ")}'`
          : `'${p.command}' needs exactly one segment name, got ${p.positional.length}`,
      );
    }
    for (const key of p.flags.keys()) {
      if (!spec.flags.includes(key)) throw new UsageError(`'${p.command}' does not take ${key}`);
    }
  } catch (error) {
    return usage(error);
  }
  const name = p.positional[0];
  try {
    await runCommand(p);
    return 0;
  } catch (error) {
    if (error instanceof BrokenPipe) return 0; // the reader has all it wanted
    if (error instanceof ShmError && error.code === "ENOENT" && name !== undefined) {
      process.stderr.write(
        `shmem ${p.command}: ENOENT: no segment is named '${name}': check the name with 'shmem ls' ` +
          `(names are given without the leading '/')\n`,
      );
      return 1;
    }
    const badInput = error instanceof UsageError || error instanceof TypeError ||
      (error instanceof RangeError && error.message.startsWith("Segment name"));
    if (badInput) return usage(error);
    process.stderr.write(`shmem ${p.command}: ${(error as Error).message}\n`);
    return 1;
  }
}

function usage(error: unknown): number {
  if (!(error instanceof Error)) throw error;
  process.stderr.write(`shmem: ${error.message}\nRun 'shmem --help' for usage.\n`);
  return 2;
}

/** Whether this file is the program being run (not imported). */
function isMain(): boolean {
  const meta = import.meta as ImportMeta & { main?: boolean };
  return meta.main === true;
}

if (isMain()) {
  // No top-level await: this module is also loaded with require().
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
