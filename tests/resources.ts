/**
 * Test helpers: what this process holds (descriptors, mappings) and what
 * the system holds (System V segments), to prove that nothing leaks.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Open descriptors of this process. */
export function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Lines of /proc/self/maps: one per mapping. */
export function mapCount(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").length;
}

/** Mappings of this process whose line mentions `text` (a path, "SYSV", "memfd:"). */
export function mapsMentioning(text: string): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line.includes(text)).length;
}

/** One row of `ipcs -m`. */
export interface IpcsRow {
  key: number;
  id: number;
  perms: number;
  bytes: number;
  nattch: number;
  status: string;
}

/** The System V segments `ipcs -m` lists. */
export function ipcs(): IpcsRow[] {
  const out = execFileSync("ipcs", ["-m"], { encoding: "utf8" });
  const rows: IpcsRow[] = [];
  for (const line of out.split("\n")) {
    const m = /^(0x[0-9a-f]+)\s+(\d+)\s+\S+\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$/.exec(line.trim());
    if (m) {
      rows.push({
        key: Number(m[1]),
        id: Number(m[2]),
        perms: parseInt(m[3], 8),
        bytes: Number(m[4]),
        nattch: Number(m[5]),
        status: m[6].trim(),
      });
    }
  }
  return rows;
}

/** The `ipcs -m` row of segment `id`, if listed. */
export function ipcsRow(id: number): IpcsRow | undefined {
  return ipcs().find((row) => row.id === id);
}

/** A random System V key unlikely to be in use (0x5e000000 to 0x5effffff). */
export function testKey(): number {
  return 0x5e000000 + Math.floor(Math.random() * 0xffffff) + 1;
}

/** Ids of the System V segments this process created that still exist (Linux /proc/sysvipc/shm, cpid column). */
export function ownSegments(): number[] {
  const lines = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
  const pid = String(process.pid);
  return lines.map((line) => line.trim().split(/\s+/)).filter((f) => f[4] === pid).map((f) => Number(f[1]));
}
