/**
 * Listing System V shared-memory segments on Linux, from /proc/sysvipc/shm,
 * as plain records (for `SysvSegment.list()`). Also tells segments marked for
 * removal (`IPC_RMID`, the kernel's `SHM_DEST` bit 0o1000 in `perms`).
 *
 * A System V segment whose creator marked it for removal (`IPC_RMID`) is
 * freed when its last attachment goes; one never marked stays until reboot or
 * `ipcrm`. `attachments` (the kernel's `nattch`) is the kernel's own count of
 * processes that have it attached, so 0 with no `IPC_RMID` is a leak.
 *
 * @module
 */
import type { SysvRecord } from "../platform/contracts.ts";
import { libc } from "./libc.ts";
import { readText } from "./files.ts";

const FIELDS = ["key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid", "gid", "ctime"] as const;

/**
 * Parses the text of /proc/sysvipc/shm (a header line naming the columns,
 * then one line per segment). Columns are found by name, so kernels that add
 * columns still parse.
 */
export function parseSysvTable(text: string): SysvRecord[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines.length === 0) return [];
  const header = lines[0].trim().split(/\s+/);
  const at: Record<string, number> = {};
  for (const field of FIELDS) {
    const i = header.indexOf(field);
    if (i < 0) throw new Error(`Unexpected /proc/sysvipc/shm header: no '${field}' column`);
    at[field] = i;
  }
  return lines.slice(1).map((line) => {
    const cols = line.trim().split(/\s+/);
    const num = (field: typeof FIELDS[number]) => Number(cols[at[field]]);
    return {
      key: num("key"),
      id: num("shmid"),
      mode: parseInt(cols[at.perms], 8) & 0o777,
      removed: (parseInt(cols[at.perms], 8) & 0o1000) !== 0,
      size: num("size"),
      creatorPid: num("cpid"),
      lastPid: num("lpid"),
      attachments: num("nattch"),
      uid: num("uid"),
      gid: num("gid"),
      changed: new Date(num("ctime") * 1000),
    };
  });
}

/**
 * Every System V segment this process can see (Linux). Throws an Error
 * saying so where /proc/sysvipc/shm does not exist (macOS, Windows, a
 * container without it).
 */
export function listSysvSegments(): SysvRecord[] {
  let text: string;
  try {
    // Through libc: Deno's node:fs asks for --allow-all under /proc.
    text = readText(libc(), "/proc/sysvipc/shm");
  } catch (error) {
    throw new Error("Listing System V segments needs Linux's /proc/sysvipc/shm, which is not available here", {
      cause: error,
    });
  }
  return parseSysvTable(text);
}
