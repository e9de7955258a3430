/**
 * Named shared memory: the segment other processes open by name.
 *
 * @module
 */
import { namedBackend } from "./internal/backend.ts";
import type { Namespace } from "./internal/backend.ts";
import { attachViews, MappedMemory } from "./mapped_memory.ts";
import { portableName } from "./names.ts";
import { checkBoolean, checkMode, checkOptions, checkSize } from "./internal/options.ts";
import { Views } from "./internal/views.ts";
import { collectSegments, listSegments } from "./internal/inventory.ts";
import type { CollectOptions, SegmentInfo } from "./internal/inventory.ts";
import { unlinkOnExit } from "./internal/unlink_on_exit.ts";

/** Options of {@link Segment.create}. */
export interface CreateOptions {
  /** Size in bytes: a positive integer. Required. */
  size: number;
  /**
   * Permission bits of the new segment (POSIX), applied exactly (the umask
   * does not narrow them). Default `0o600`: only this user. Ignored on Windows.
   */
  mode?: number;
  /**
   * Reserve the memory now (Linux: `posix_fallocate`). Default `true`: a full
   * `/dev/shm` (Docker's 64 MB default) fails here with `ENOSPC` and leaves
   * no name behind. With `false` the pages are only allocated when first
   * touched, and touching one when the file system is full kills the process
   * with SIGBUS: use it only for sparse segments on a roomy file system.
   * Ignored on Windows, which always charges the whole size against the
   * commit limit at create (`SEC_COMMIT`: `ENOSPC`/`ENOMEM` there, never later).
   */
  reserve?: boolean;
  /**
   * Mark the segment as made by shmem (Linux: a `user.shmem` extended
   * attribute), so that {@link Segment.collect} and `shmem gc` may remove it
   * once no process holds it. Default `true`. Pass `false` for a segment
   * meant to outlive every process that has it open.
   */
  track?: boolean;
  /**
   * Remove the name when this process ends normally or by SIGINT/SIGTERM
   * (not SIGKILL: `collect()` handles that). Default `false`.
   */
  unlinkOnExit?: boolean;
  /**
   * Windows only: the kernel object namespace, `"local"` (`Local\`, this
   * login session; the default) or `"global"` (`Global\`, every session;
   * creating there needs the SeCreateGlobalPrivilege). Ignored elsewhere.
   */
  namespace?: Namespace;
}

/** Options of {@link Segment.open}. */
export interface OpenOptions {
  /**
   * Map for reading only. Default `false`. Reads are zero-copy and see the
   * other processes' writes; a write through a view never crashes and never
   * reaches the shared memory (it lands in a private copy of that page, which
   * then stops following the others' writes).
   */
  readOnly?: boolean;
  /**
   * Copy-on-write. Default `false`. This process reads the shared bytes, and
   * its own writes stay private (`MAP_PRIVATE`).
   */
  private?: boolean;
  /** Windows only: `"local"` (default) or `"global"`; see {@link CreateOptions.namespace}. Ignored elsewhere. */
  namespace?: Namespace;
}

function checkNamespace(value: unknown): Namespace {
  if (value === undefined) return "local";
  if (value !== "local" && value !== "global") {
    throw new TypeError(`Option 'namespace' must be "local" or "global", got ${JSON.stringify(value)}`);
  }
  return value;
}

let make: (name: string, views: Views, cancelExit?: () => void) => Segment;

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

  static {
    make = (name, views, cancelExit) => {
      const seg = new Segment(name, views);
      seg.#cancelExit = cancelExit;
      return seg;
    };
  }

  private constructor(name: string, views: Views) {
    super();
    this.name = name;
    attachViews(this, views);
  }

  /**
   * Creates a new segment and maps it read-write. Fails with `EEXIST` when
   * the name exists. The memory is zero-filled.
   *
   * @param name Portable name: no `/` except an optional leading one, no NUL;
   *   at most 30 bytes on macOS, 255 on Linux, 253 UTF-16 units and no `\` on
   *   Windows (where it becomes `Local\<name>`, or `Global\<name>`).
   * @param options `size` (required), `mode` (default `0o600`), `reserve` (default `true`),
   *   `track` (default `true`), `unlinkOnExit` (default `false`), `namespace` (Windows; default `"local"`).
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
    const backend = namedBackend();
    const bare = portableName(name, backend.nameRules);
    const o = checkOptions(options, "Segment.create");
    const size = checkSize(o.size, backend.maxSize, "Segment size");
    const mode = checkMode(o.mode, 0o600);
    const reserve = checkBoolean(o.reserve, "reserve", true);
    const track = checkBoolean(o.track, "track", true);
    const atExit = checkBoolean(o.unlinkOnExit, "unlinkOnExit", false);
    const namespace = checkNamespace(o.namespace);
    const raw = backend.create(bare, { size, mode, reserve, namespace, track });
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
    return make(bare, new Views(raw, false, `Segment '${bare}'`), cancelExit);
  }

  /**
   * Opens an existing segment; its size is the size its creator gave it. On
   * Windows it is the size the kernel reports for the mapping, which can be
   * the creator's size rounded up to a whole page (Wine does that).
   *
   * @param name The name it was created with (a leading `/` is accepted).
   * @param options `readOnly` (default `false`), `private` (default `false`),
   *   `namespace` (Windows; default `"local"`).
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
    const backend = namedBackend();
    const bare = portableName(name, backend.nameRules);
    const o = checkOptions(options, "Segment.open");
    const readOnly = checkBoolean(o.readOnly, "readOnly", false);
    const priv = checkBoolean(o.private, "private", false);
    const namespace = checkNamespace(o.namespace);
    const raw = backend.open(bare, { readOnly, private: priv, namespace });
    return make(bare, new Views(raw, readOnly || priv, `Segment '${bare}'`));
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
    const backend = namedBackend();
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
