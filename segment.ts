/**
 * Named shared memory: the segment other processes open by name.
 *
 * @module
 */
import { platform } from "./platform/mod.ts";
import type { CollectOptions, CreateOptions, Namespace, OpenOptions, SegmentInfo } from "./types.ts";
import { attachOwner, MappedMemory, mappingOwner } from "./mapped_memory.ts";
import { portableName } from "./names.ts";
import { checkBoolean, checkMode, checkSize, describe, readOptions } from "./internal/options.ts";
import type { OptionKeys } from "./internal/options.ts";
import { MappingOwner } from "./internal/views.ts";
import { checkBounds } from "./region.ts";
import { collectSegments, listSegments } from "./internal/inventory.ts";
import { unlinkOnExit } from "./internal/unlink_on_exit.ts";
import { ShmError } from "./errors.ts";

const CREATE_KEYS: OptionKeys<CreateOptions> = {
  size: true,
  mode: true,
  reserve: true,
  track: true,
  unlinkOnExit: true,
  namespace: true,
  sddl: true,
};
const OPEN_KEYS: OptionKeys<OpenOptions> = { readOnly: true, private: true, namespace: true };

function checkNamespace(value: unknown): Namespace {
  if (value === undefined) return "local";
  if (value !== "local" && value !== "global") {
    throw new TypeError(`Option 'namespace' must be "local" or "global", got ${describe(value)}`);
  }
  return value;
}

function checkSddl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.includes("\0")) {
    throw new TypeError(`Option 'sddl' must be a non-empty SDDL string, got ${describe(value)}`);
  }
  return value;
}

/**
 * A named shared-memory segment: POSIX `shm_open` on Linux and macOS, a named
 * file mapping on Windows. Bytes start at offset 0 with no hidden header, so
 * C programs (`shm_open("/name")`) and Python
 * (`multiprocessing.shared_memory.SharedMemory(name="name")`) see exactly
 * what you wrote.
 *
 * One crash no library can prevent on POSIX: if another process truncates
 * the object (`/dev/shm/NAME` on Linux) while this one maps it, touching the
 * lost pages kills this process with SIGBUS, also after a read-only open.
 * Share an {@link AnonymousSegment} (sealed against shrinking) with peers
 * you do not trust.
 *
 * @example Two processes, one segment
 * ```ts
 * import { Segment } from "./mod.ts";
 *
 * // Process A
 * const seg = Segment.create("frames", { size: 1 << 20 });
 * seg.bytes()[0] = 42;
 *
 * // Process B
 * const peer = Segment.open("frames");
 * console.log(peer.bytes()[0]); // 42
 * peer.close();
 *
 * // Process A, when done
 * seg.close();
 * Segment.unlink("frames");
 * ```
 */
export class Segment extends MappedMemory {
  /** The portable name, without a leading `/`. */
  readonly name: string;
  #cancelExit: (() => void) | undefined;
  #refresh: ((offset: number, length: number) => void) | undefined;
  private constructor(
    name: string,
    owner: MappingOwner,
    cancelExit?: () => void,
    refresh?: (offset: number, length: number) => void,
  ) {
    super();
    this.name = name;
    this.#cancelExit = cancelExit;
    this.#refresh = refresh;
    attachOwner(this, owner);
  }

  /**
   * Creates a new segment and maps it read-write. Fails with `EEXIST` when
   * the name exists. The memory is zero-filled.
   *
   * @param name Portable name: no `/` except an optional leading one, no NUL;
   *   at most 30 bytes on macOS, 255 on Linux, 253 UTF-16 units and no `\` on
   *   Windows (where it becomes `Local\<name>`, or `Global\<name>`).
   * @param options `size` (required), `mode` (default `0o600`), `reserve` (default `true`),
   *   `track` (default `true`), `unlinkOnExit` (default `false`), `namespace` (Windows; default `"local"`),
   *   `sddl` (Windows; default: the creator's default security).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {TypeError|RangeError} for a bad name or option, before any system call.
   * @throws {ShmError} `EEXIST`, `EACCES`, `ENOSPC`, ... from the system; nothing is left behind.
   * @example
   * ```ts
   * import { Segment } from "./mod.ts";
   * const seg = Segment.create("frames", { size: 1 << 20, mode: 0o600 });
   * seg.close();
   * Segment.unlink("frames");
   * ```
   */
  static create(name: string, options: CreateOptions): Segment {
    const backend = platform().named;
    const bare = portableName(name, backend.nameRules);
    const o = readOptions(options, "Segment.create", CREATE_KEYS);
    const size = checkSize(o.size, backend.maxSize, "Segment size");
    const mode = checkMode(o.mode, 0o600);
    const reserve = checkBoolean(o.reserve, "reserve", true);
    const track = checkBoolean(o.track, "track", true);
    const atExit = checkBoolean(o.unlinkOnExit, "unlinkOnExit", false);
    const namespace = checkNamespace(o.namespace);
    const sddl = checkSddl(o.sddl);
    const raw = backend.create(bare, { size, mode, reserve, namespace, track, sddl });
    let cancelExit: (() => void) | undefined;
    if (atExit) {
      try {
        cancelExit = unlinkOnExit(bare, raw.handle);
      } catch (error) {
        raw.release();
        backend.unlink(bare, namespace);
        throw error;
      }
    }
    return new Segment(bare, new MappingOwner(raw, false, `Segment '${bare}'`), cancelExit);
  }

  /**
   * Opens an existing segment; its size is the size the kernel keeps, which
   * is the creator's size rounded up to a whole page on macOS (16 KiB on
   * Apple Silicon, 4 KiB on Intel) and on Windows (4 KiB). On Windows,
   * open() attaches to whatever mapping holds the name, whoever made it, and
   * a read-only or private view charges its whole size against the commit
   * limit (`FILE_MAP_COPY`). On macOS, which maps shm objects only shared, a
   * read-only or private open is a copy taken at open: call
   * {@link Segment.refresh} to copy the others' writes again.
   *
   * @param name The name it was created with (a leading `/` is accepted).
   * @param options `readOnly` (default `false`), `private` (default `false`),
   *   `namespace` (Windows; default `"local"`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {ShmError} `ENOENT` when no segment has this name, `EACCES` when not allowed.
   * @example Read-only, zero-copy
   * ```ts
   * import { Segment } from "./mod.ts";
   * const writer = Segment.create("frames", { size: 4096 });
   * const reader = Segment.open("frames", { readOnly: true });
   * reader.bytes()[0]; // 0
   * reader.close();
   * writer.close();
   * Segment.unlink("frames");
   * ```
   */
  static open(name: string, options?: OpenOptions): Segment {
    const backend = platform().named;
    const bare = portableName(name, backend.nameRules);
    const o = readOptions(options, "Segment.open", OPEN_KEYS);
    const readOnly = checkBoolean(o.readOnly, "readOnly", false);
    const priv = checkBoolean(o.private, "private", false);
    const namespace = checkNamespace(o.namespace);
    const raw = backend.open(bare, { readOnly, private: priv, namespace });
    const owner = new MappingOwner(raw, readOnly || priv, `Segment '${bare}'`);
    return new Segment(bare, owner, undefined, raw.refresh);
  }

  /**
   * Where a read-only or private open is a copy (macOS), copies the shared
   * bytes `[offset, offset + length)` into it again, replacing this
   * process's own writes there. Does nothing where views are live (Linux,
   * Windows, and every read-write open), which always see the others' writes.
   *
   * @param offset Start in bytes; default 0.
   * @param length Bytes; default: the rest.
   * @throws {RangeError} when the window is not inside the segment.
   * @example Follow a writer from a read-only open
   * ```ts
   * import assert from "node:assert/strict";
   * import { Segment, uniqueName } from "./mod.ts";
   * const name = uniqueName();
   * using writer = Segment.create(name, { size: 4096 });
   * using reader = Segment.open(name, { readOnly: true });
   * writer.bytes()[0] = 7;
   * reader.refresh(); // a copy on macOS: read the writer's bytes again
   * assert.ok(reader.bytes()[0] === 7);
   * Segment.unlink(name);
   * ```
   */
  refresh(offset: number = 0, length?: number): void {
    if (this.closed) this.bytes(); // throws ERR_USE_AFTER_CLOSE
    const checked = checkBounds(offset, length, this.size);
    this.#refresh?.(offset, checked);
  }

  /**
   * Removes a name. Processes that have the segment open keep using it; the
   * memory is freed when the last one closes it.
   *
   * On Windows this does nothing and never fails for a valid name (like
   * Python's `SharedMemory.unlink()` there): a Windows mapping and its name
   * vanish by themselves when the last process closes it (or exits), so a
   * segment lives only while some process has it open.
   *
   * @throws {ShmError} `ENOENT` when no segment has this name (POSIX).
   * @example
   * ```ts
   * import { Segment } from "./mod.ts";
   * Segment.create("frames", { size: 4096 }).close();
   * Segment.unlink("frames");
   * ```
   */
  static unlink(name: string): void {
    const backend = platform().named;
    backend.unlink(portableName(name, backend.nameRules), "local");
  }

  /**
   * Removes this segment's name (see {@link Segment.unlink}); the mapping stays usable until close().
   *
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * seg.unlink(); // nobody else can open it now; this process still can use it
   * seg.bytes()[0] = 1;
   * ```
   */
  unlink(): void {
    this.#cancelExit?.();
    this.#cancelExit = undefined;
    Segment.unlink(this.name);
  }

  /**
   * The named segments this user can see (Linux: the segments in /dev/shm;
   * glibc's `sem.*` semaphores, directories and symlinks are left out), with
   * size, mode, owner, last change, and whether a process holds it through
   * shmem. macOS and Windows cannot list: a ShmError `ERR_UNSUPPORTED` says so.
   *
   * @example Leaks at a glance
   * ```ts
   * import { Segment } from "./mod.ts";
   * for (const s of Segment.list()) {
   *   console.log(s.name, s.size, s.held ? "in use" : "not held by shmem");
   * }
   * ```
   */
  static list(): SegmentInfo[] {
    return listSegments();
  }

  /**
   * Removes leaked segments: only those shmem created with tracking, that no
   * process holds any more (the kernel drops a holder's lock when it dies,
   * even by SIGKILL), and that are older than the grace period. Segments
   * other programs made, held ones and brand-new ones are never touched.
   * Returns what it removed (with `dryRun`, what it would remove).
   *
   * @param options `dryRun` (default `false`), `graceMs` (default `10_000`), `prefix` (default `""`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @example Clean up after crashed runs
   * ```ts
   * import { Segment } from "./mod.ts";
   * const wouldGo = Segment.collect({ dryRun: true });
   * const removed = Segment.collect({ prefix: "myapp_" });
   * console.log(`removed ${removed.length} leaked segments`);
   * ```
   */
  static collect(options?: CollectOptions): SegmentInfo[] {
    return collectSegments(options);
  }
}

/**
 * Removes the name of the open segment `seg` only while the name still
 * refers to `seg`: when it was removed and another segment was made under
 * it since, that one keeps its name. Internal (not exported by mod.ts): a
 * service's close and takeover remove names through it.
 *
 * Where a name's object cannot be compared with a mapping's (macOS), the
 * name is removed as {@link Segment.unlink} does; on Windows that does nothing.
 * The check and the removal are two system calls: a service removes its name
 * while it still counts as live, so that no other process replaces it between them.
 *
 * @returns whether the name was removed (false when it is gone or names another segment).
 * @throws {ShmError} `ERR_USE_AFTER_CLOSE` when `seg` is closed; what the removal throws but `ENOENT`.
 */
export function unlinkIfSame(seg: Segment): boolean {
  const handle = mappingOwner(seg)!.handle; // ERR_USE_AFTER_CLOSE: once closed, the handle may name something else
  if (!platform().holders.sameObject(seg.name, handle)()) return false;
  try {
    seg.unlink();
  } catch (error) {
    if (error instanceof ShmError && error.code === "ENOENT") return false;
    throw error;
  }
  return true;
}
