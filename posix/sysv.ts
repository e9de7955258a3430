/**
 * System V shared memory: `shmget`, `shmat`, `shmdt`, `shmctl`.
 *
 * A segment attached with `SHM_RDONLY` is mapped without write permission,
 * and the kernel refuses to make it writable later (`mprotect` fails: the
 * mapping is not `VM_MAYWRITE`). A stray write through a JavaScript view of
 * it would kill the process with SIGSEGV, and there is no descriptor to map
 * `MAP_PRIVATE` instead. So read-only and copy-on-write opens never hand out
 * a view of the shared pages: they copy the segment into private anonymous
 * memory (`memcpy`, at memory speed) and keep the read-only attachment only
 * to copy from again on `refresh()`.
 *
 * @module
 */
import type { RawMapping, SysvAttachment, SysvStat } from "../platform/contracts.ts";
import { ShmError } from "../errors.ts";
import { mapFailed } from "./constants.ts";
import { mapAnonymous } from "./descriptor.ts";
import { errnoNumbers } from "./errno.ts";
import { errnoError } from "./fail.ts";
import type { Libc } from "./libc.ts";
import { libc } from "./libc.ts";

const FEATURE = "System V shared memory";

/** What to do about a failed System V call. */
const HINTS: Readonly<Record<string, string>> = {
  EEXIST:
    "A System V segment with this key exists: open it with SysvSegment.openKey(), remove it (ipcrm -M <key>), or pick another key",
  ENOENT: "No System V segment has this key: create it first (ipcs -m lists the segments)",
  EACCES: "Permission denied: another user owns it, or its mode does not allow this access (try { readOnly: true })",
  EPERM: "Only the segment's owner or creator (or root) may remove it",
  EINVAL:
    "The size is outside the system's limits (Linux: kernel.shmmax and shmmin; macOS: kern.sysv.shmmax, 4 MiB by default), or the segment is gone",
  ENOSPC: "The system has too many System V segments, or too much memory in them (kernel.shmmni, kernel.shmall)",
  ENOMEM: "Not enough memory or address space for this size",
  EIDRM: "The segment was removed",
  // shmat past the per-process attachment limit (macOS kern.sysv.shmseg, 8 by default; Linux SHMSEG is unlimited).
  EMFILE:
    "This process has attached as many System V segments as the system allows (macOS: kern.sysv.shmseg, 8 by default): close some first",
};

function sysv(): Libc {
  const l = libc();
  if (!l.lib.symbols.shmget || !l.lib.symbols.shmat || !l.lib.symbols.shmdt || !l.lib.symbols.shmctl) {
    throw new Error(`${FEATURE} functions are missing from this libc`);
  }
  return l;
}

/** Whether a `shmctl` errno means the segment is gone: EINVAL, or EIDRM (Linux, marked and detached meanwhile). */
function isRemoved(l: Libc, errno: number): boolean {
  const { EINVAL, EIDRM } = errnoNumbers(l.c.os);
  return errno === EINVAL || errno === EIDRM;
}

function removedError(l: Libc, id: number): ShmError {
  return new ShmError({
    code: "EINVAL",
    errno: errnoNumbers(l.c.os).EINVAL,
    syscall: "shmctl",
    path: String(id),
    message: `System V segment ${id} does not exist (it was removed, or the id is wrong)`,
    hint: "ipcs -m lists the segments",
  });
}

/** IPC_STAT of segment `id`. */
export function sysvStat(id: number): SysvStat {
  const l = sysv();
  const { c, lib } = l;
  const s = c.sysv;
  const ds = new Uint8Array(s.dsBytes);
  if (lib.symbols.shmctl!(id, s.IPC_STAT, ds) !== 0) {
    const errno = l.errno();
    if (isRemoved(l, errno)) throw removedError(l, id);
    throw errnoError(c.os, "shmctl", errno, String(id), HINTS);
  }
  const data = new DataView(ds.buffer);
  const mode = data.getUint16(s.modeOffset, true);
  return {
    key: data.getUint32(s.keyOffset, true),
    uid: data.getUint32(s.uidOffset, true),
    mode: mode & 0o777,
    removed: c.os === "linux" && (mode & 0o1000) !== 0,
    size: Number(data.getBigUint64(s.segszOffset, true)),
    attached: s.nattchBytes === 2
      ? data.getUint16(s.nattchOffset, true)
      : Number(data.getBigUint64(s.nattchOffset, true)),
  };
}

/** The id of the segment with `key` (an i32); `ENOENT` when none. */
export function sysvIdOf(key: number): number {
  const l = sysv();
  const id = l.lib.symbols.shmget!(key, 0, 0);
  if (id < 0) throw errnoError(l.c.os, "shmget", l.errno(), `key 0x${(key >>> 0).toString(16)}`, HINTS);
  return id;
}

/** Marks segment `id` for removal: it goes once the last process detaches. */
export function sysvRemove(id: number): void {
  const l = sysv();
  if (l.lib.symbols.shmctl!(id, l.c.sysv.IPC_RMID, new Uint8Array(l.c.sysv.dsBytes)) !== 0) {
    const errno = l.errno();
    if (isRemoved(l, errno)) throw removedError(l, id);
    throw errnoError(l.c.os, "shmctl", errno, String(id), HINTS);
  }
}

function attach(l: Libc, id: number, readOnly: boolean): bigint {
  const flags = readOnly ? l.c.sysv.SHM_RDONLY : 0;
  const address = l.lib.symbols.shmat!(id, 0n, flags);
  if (mapFailed(address)) throw errnoError(l.c.os, "shmat", l.errno(), String(id), HINTS);
  return address;
}

function live(l: Libc, id: number, key: number, address: bigint, size: number): SysvAttachment {
  const raw: RawMapping = {
    address,
    size,
    handle: id,
    release(keepMapped = false) {
      if (!keepMapped) l.lib.symbols.shmdt!(address);
    },
  };
  return { id, key, raw, refresh: undefined };
}

/**
 * Creates a segment of `size` bytes with `key` (i32; `IPC_PRIVATE` when
 * `undefined`) and exactly `mode`, and attaches it read-write. Removes it
 * again when attaching fails.
 */
export function sysvCreate(size: number, key: number | undefined, mode: number): SysvAttachment {
  const l = sysv();
  const { c, lib } = l;
  const s = c.sysv;
  const id = lib.symbols.shmget!(key ?? s.IPC_PRIVATE, size, s.IPC_CREAT | s.IPC_EXCL | mode);
  if (id < 0) {
    throw errnoError(
      c.os,
      "shmget",
      l.errno(),
      key === undefined ? "IPC_PRIVATE" : `key 0x${(key >>> 0).toString(16)}`,
      HINTS,
    );
  }
  try {
    const address = attach(l, id, false);
    return live(l, id, key === undefined ? 0 : key >>> 0, address, size);
  } catch (error) {
    lib.symbols.shmctl!(id, s.IPC_RMID, new Uint8Array(s.dsBytes));
    throw error;
  }
}

/**
 * Attaches segment `id`. Read-write when `copy` is false; otherwise attaches
 * it `SHM_RDONLY` and maps a private copy (see the module notes).
 */
export function sysvAttach(id: number, copy: boolean): SysvAttachment {
  const l = sysv();
  const { c, lib } = l;
  const stat = sysvStat(id);
  if (stat.size === 0) throw removedError(l, id);
  const shared = attach(l, id, copy);
  if (!copy) return live(l, id, stat.key, shared, stat.size);
  let address = 0n;
  try {
    address = mapAnonymous(l, stat.size, c.MAP_POPULATE, String(id), HINTS);
    lib.symbols.memcpy(address, shared, stat.size);
  } catch (error) {
    lib.symbols.shmdt!(shared);
    throw error;
  }
  const copyAddress = address;
  let attached = true;
  const raw: RawMapping = {
    address: copyAddress,
    size: stat.size,
    handle: id,
    release(keepMapped = false) {
      attached = false;
      lib.symbols.shmdt!(shared);
      if (!keepMapped) lib.symbols.munmap(copyAddress, stat.size);
    },
  };
  const refresh = (offset: number, length: number) => {
    if (!attached) return;
    lib.symbols.memcpy(copyAddress + BigInt(offset), shared + BigInt(offset), length);
  };
  return { id, key: stat.key, raw, refresh };
}
