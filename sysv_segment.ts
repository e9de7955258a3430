/**
 * System V shared memory (`shmget`/`shmat`): the segments `ipcmk`, `ipcs`
 * and `ipcrm` manage, and many older C programs share.
 *
 * @module
 */
import { attachOwner, MappedMemory } from "./mapped_memory.ts";
import { checkBoolean, checkMode, checkSize, describe, integer, readOptions } from "./internal/options.ts";
import type { OptionKeys } from "./internal/options.ts";
import { platform } from "./platform/mod.ts";
import type { SysvAttachment } from "./platform/mod.ts";
import type { SysvCreateOptions, SysvOpenOptions, SysvRecord } from "./types.ts";
import { checkBounds } from "./region.ts";
import { MappingOwner } from "./internal/views.ts";

const KEY_MIN = -(2 ** 31);
const KEY_MAX = 2 ** 32 - 1;
const ID_MAX = 2 ** 31 - 1;
const MAX_SIZE = 2 ** 47;

function checkKey(key: unknown): number {
  if (typeof key !== "number") throw new TypeError(`System V key must be a number, got ${typeof key}`);
  if (!Number.isInteger(key) || key < KEY_MIN || key > KEY_MAX) {
    throw new RangeError(`System V key must be a 32-bit integer, got ${describe(key)}`);
  }
  if (key === 0) {
    throw new RangeError("System V key must not be 0 (IPC_PRIVATE): leave 'key' out for a private segment, got 0");
  }
  return key | 0;
}

function checkId(id: unknown): number {
  if (typeof id !== "number") throw new TypeError(`System V segment id must be a number, got ${typeof id}`);
  if (!Number.isInteger(id) || id < 0 || id > ID_MAX) {
    throw new RangeError(`System V segment id must be an integer from 0 to ${ID_MAX}, got ${describe(id)}`);
  }
  return integer(id);
}

const CREATE_KEYS: OptionKeys<SysvCreateOptions> = { size: true, key: true, mode: true };
const OPEN_KEYS: OptionKeys<SysvOpenOptions> = { readOnly: true, private: true };

function checkOpen(options: unknown, what: string): boolean {
  const o = readOptions(options, what, OPEN_KEYS);
  const readOnly = checkBoolean(o.readOnly, "readOnly", false);
  const priv = checkBoolean(o.private, "private", false);
  return readOnly || priv;
}

/**
 * A System V shared-memory segment. It lives until removed — also after
 * every process that used it has exited or crashed — so call `remove()`
 * once every peer has attached (Linux still lets attached processes use it,
 * and frees it when the last one detaches). `ipcs -m` lists segments and
 * `ipcrm -m <id>` removes one. Bytes start at offset 0.
 *
 * Not available on Windows (an `ERR_UNSUPPORTED` error). On macOS the
 * default limit (`kern.sysv.shmmax`) is 4 MiB.
 *
 * @example Share by id, remove when everyone is attached
 * ```ts
 * import { SysvSegment } from "./mod.ts";
 *
 * // Process A
 * const seg = SysvSegment.create({ size: 1 << 20 });
 * seg.bytes()[0] = 42;
 * // ...pass seg.id to process B, which does:
 * const peer = SysvSegment.open(seg.id);
 * console.log(peer.bytes()[0]); // 42
 * seg.remove(); // gone once both have detached
 * peer.close();
 * seg.close();
 * ```
 */
export class SysvSegment extends MappedMemory {
  /** The segment id (`shmid`, as `ipcs -m` shows it). */
  readonly id: number;
  /** The key, as an unsigned 32-bit number; 0 for a private segment. */
  readonly key: number;
  readonly #refresh: ((offset: number, length: number) => void) | undefined;

  private constructor(attachment: SysvAttachment, copy: boolean) {
    super();
    this.id = attachment.id;
    this.key = attachment.key;
    this.#refresh = attachment.refresh;
    attachOwner(this, new MappingOwner(attachment.raw, copy, `System V segment ${attachment.id}`));
  }

  /**
   * Creates a segment and attaches it read-write. The memory is zero-filled.
   *
   * @param options `size` (required), `key` (default: private), `mode` (default `0o600`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {TypeError|RangeError} for a bad option, before any system call.
   * @throws {ShmError} `EEXIST` when the key exists, `EINVAL` when the size is over the system's limit
   *   (`kernel.shmmax`), `ENOSPC` when the system has too many segments; nothing is left behind.
   * @example With a key that `ipcs -m` shows
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * using seg = SysvSegment.create({ size: 4096, key: 0x5eed, mode: 0o600 });
   * seg.remove();
   * ```
   */
  static create(options: SysvCreateOptions): SysvSegment {
    const o = readOptions(options, "SysvSegment.create", CREATE_KEYS);
    const size = checkSize(o.size, MAX_SIZE, "Segment size");
    const key = o.key === undefined ? undefined : checkKey(o.key);
    const mode = checkMode(o.mode, 0o600);
    return new SysvSegment(platform().sysv.create(size, key, mode), false);
  }

  /**
   * Attaches the segment with this id; its size is the size it was created with.
   *
   * @param id The `shmid` (from the creator, `ipcs -m` or `ipcmk`).
   * @param options `readOnly` (default `false`), `private` (default `false`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {ShmError} `EINVAL` when no segment has this id, `EACCES` when not allowed.
   * @example
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * using seg = SysvSegment.create({ size: 4096 });
   * using peer = SysvSegment.open(seg.id, { readOnly: true });
   * peer.bytes()[0]; // 0
   * seg.remove();
   * ```
   */
  static open(id: number, options?: SysvOpenOptions): SysvSegment {
    const checked = checkId(id);
    const copy = checkOpen(options, "SysvSegment.open");
    return new SysvSegment(platform().sysv.attach(checked, copy), copy);
  }

  /**
   * Attaches the segment with this key.
   *
   * @param key The key it was created with (`ipcmk` prints it as hex: pass `0x...`).
   * @param options `readOnly` (default `false`), `private` (default `false`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {ShmError} `ENOENT` when no segment has this key.
   * @example
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * using seg = SysvSegment.create({ size: 4096, key: 0x5eee });
   * using peer = SysvSegment.openKey(0x5eee);
   * peer.id === seg.id; // true
   * seg.remove();
   * ```
   */
  static openKey(key: number, options?: SysvOpenOptions): SysvSegment {
    const checked = checkKey(key);
    const copy = checkOpen(options, "SysvSegment.openKey");
    return new SysvSegment(platform().sysv.attach(platform().sysv.idOf(checked), copy), copy);
  }

  /**
   * Marks segment `id` for removal (`IPC_RMID`, like `ipcrm -m <id>`): its
   * key is freed at once, and the memory once the last process detaches.
   *
   * @throws {ShmError} `EINVAL` when no segment has this id, `EPERM` when another user owns it.
   * @example
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * const seg = SysvSegment.create({ size: 4096 });
   * seg.close();
   * SysvSegment.remove(seg.id);
   * ```
   */
  static remove(id: number): void {
    platform().sysv.remove(checkId(id));
  }

  /**
   * Every System V segment this user can see (Linux, from
   * `/proc/sysvipc/shm`), like `ipcs -m`: key, id, mode, size, creator and
   * last pids, attachments, owner, last change, and whether it is marked for
   * removal. A segment with no attachments that is not marked for removal
   * stays until reboot: that is a leak. Throws where the system has no such
   * table (macOS, Windows).
   *
   * @example Find leaked segments
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * const leaked = SysvSegment.list().filter((s) => s.attachments === 0 && !s.removed);
   * console.log(leaked.map((s) => `${s.id}: ${s.size} bytes`));
   * ```
   */
  static list(): SysvRecord[] {
    return platform().sysv.list();
  }

  /**
   * Marks this segment for removal (see {@link SysvSegment.remove}); this
   * process keeps using it until close().
   *
   * @example
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * using seg = SysvSegment.create({ size: 4096 });
   * seg.remove();
   * seg.bytes()[0] = 1; // still attached
   * ```
   */
  remove(): void {
    SysvSegment.remove(this.id);
  }

  /**
   * Whether the segment still exists and is not marked for removal (asks the system).
   *
   * @example
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * using seg = SysvSegment.create({ size: 4096 });
   * seg.exists(); // true
   * seg.remove();
   * seg.exists(); // false on Linux (marked for removal)
   * ```
   */
  exists(): boolean {
    try {
      return !platform().sysv.stat(this.id).removed;
    } catch {
      return false;
    }
  }

  /**
   * For a `readOnly` or `private` open: copies the shared bytes
   * `[offset, offset + length)` into this process's copy again, replacing
   * its own writes there. Does nothing on a read-write attachment, which
   * is always current.
   *
   * @param offset Start in bytes; default 0.
   * @param length Bytes; default: the rest.
   * @throws {RangeError} when the window is not inside the segment.
   * @example Follow a writer from a read-only copy
   * ```ts
   * import { SysvSegment } from "./mod.ts";
   * using seg = SysvSegment.create({ size: 4096 });
   * using reader = SysvSegment.open(seg.id, { readOnly: true });
   * seg.bytes()[0] = 7;
   * reader.bytes()[0]; // 0: the copy taken at open
   * reader.refresh();
   * reader.bytes()[0]; // 7
   * seg.remove();
   * ```
   */
  refresh(offset: number = 0, length?: number): void {
    if (this.closed) this.bytes(); // throws ERR_USE_AFTER_CLOSE
    const checked = checkBounds(offset, length, this.size);
    this.#refresh?.(integer(offset), checked);
  }
}
