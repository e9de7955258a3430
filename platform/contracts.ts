/**
 * Every contract between the public classes and the operating system, as
 * types only. `posix/` and `windows/` each export one complete
 * {@link Platform}; platform/mod.ts picks the one of this OS. Arguments
 * arrive validated: option checks, size rules and undo-on-failure policy live
 * in the public classes, the platform only makes the calls.
 *
 * @module
 */
import type { ShmError } from "../errors.ts";
import type { NameRules } from "../names.ts";
import type { ErrnoCode, Namespace, SegmentInfo, SysvRecord, WaitResult } from "../types.ts";

export type { ErrnoCode, Namespace, SegmentInfo, SysvRecord, WaitResult };

/** One live mapping, as the platform made it. */
export interface RawMapping {
  /** Base address of the mapping. */
  readonly address: bigint;
  /** Bytes mapped. */
  readonly size: number;
  /** The descriptor or handle kept open for the mapping's lifetime (-1 when none). */
  readonly handle: number | bigint;
  /**
   * Unmaps and closes the handle; called exactly once. With `keepMapped`,
   * only the handle is closed (the memory may still be reachable).
   */
  release(keepMapped?: boolean): void;
  /** Where the mapping is a private copy of shared memory (macOS read-only opens): copies that window again. */
  readonly refresh?: (offset: number, length: number) => void;
}

// --- named segments ------------------------------------------------------------------------------

/** Options of {@link NamedBackend.create}, already validated. */
export interface CreateRequest {
  readonly size: number;
  readonly mode: number;
  readonly reserve: boolean;
  /** Mark the segment as created by shmem, so a collector may remove it once nobody holds it (default true). */
  readonly track?: boolean;
  /** Windows: the kernel object namespace (`Local\` or `Global\`); ignored elsewhere. */
  readonly namespace: Namespace;
  /** Windows: the security descriptor in SDDL; ignored elsewhere. */
  readonly sddl?: string;
}

/** Options of {@link NamedBackend.open}, already validated. */
export interface OpenRequest {
  /** Open for reading only; writes through the views stay private to this process. */
  readonly readOnly: boolean;
  /** Copy-on-write: this process's writes are never seen by others. */
  readonly private: boolean;
  /** Windows: the kernel object namespace; ignored elsewhere. */
  readonly namespace: Namespace;
}

/** Named shared memory on one platform. Names arrive validated and portable (no leading `/`). */
export interface NamedBackend {
  /** The rules `portableName` checks before any call. */
  readonly nameRules: NameRules;
  /** The largest size accepted before any call. */
  readonly maxSize: number;
  /** Whether names persist until unlinked (POSIX) or vanish with the last handle (Windows). */
  readonly persistent: boolean;
  create(name: string, request: CreateRequest): RawMapping;
  open(name: string, request: OpenRequest): RawMapping;
  unlink(name: string, namespace: Namespace): void;
}

// --- mapped files --------------------------------------------------------------------------------

/** How a file is opened for mapping, already validated. */
export interface FileOpenRequest {
  /** Create the file when it does not exist. */
  readonly create: boolean;
  /** POSIX permission bits of a file this call creates (ignored on Windows). */
  readonly mode: number;
  /** Open for reading only, to map a private copy-on-write view. */
  readonly copy: boolean;
}

/**
 * An open regular file, before it is mapped. The public layer decides the
 * size (empty file, short read-only file, growing) and calls
 * {@link OpenFile.abandon} when anything fails, which undoes the open.
 */
export interface OpenFile {
  /** The file's size in bytes when it was opened. */
  readonly size: number;
  /** Whether this open created the file. */
  readonly created: boolean;
  /** The largest size this platform can map. */
  readonly maxSize: number;
  /** Sets the file's length to `size` (reserving the space where the system can). */
  grow(size: number): void;
  /** The error this platform reports when the public layer refuses a size (`reason`), with `message`. */
  refusal(reason: "empty" | "short" | "too-large", message: string): ShmError;
  /** Maps `size` bytes (shared, or private for a copy); the file stays open until release where the platform needs it. */
  map(size: number): MappedFileRaw;
  /** Undoes the open: removes a file this call created, or shrinks a grown one back to `size`, then closes it. */
  abandon(grownFrom: number | undefined): void;
}

/** A mapped file and its write-back. */
export interface MappedFileRaw {
  readonly raw: RawMapping;
  /** Writes bytes `[offset, offset + length)` to disk and waits; the start is aligned down to a page. */
  readonly flush: (offset: number, length: number) => void;
}

/** Mapping regular files on one platform. */
export interface FileBackend {
  /** Opens (or creates) a regular file; refuses directories, devices, FIFOs and sockets. */
  open(path: string, request: FileOpenRequest): OpenFile;
}

// --- System V, anonymous memory ------------------------------------------------------------------

/** What `shmctl(IPC_STAT)` reports. */
export interface SysvStat {
  /** The key, as an unsigned 32-bit number (0 for a private or removed segment). */
  readonly key: number;
  readonly uid: number;
  /** Permission bits (`shm_perm.mode & 0o777`). */
  readonly mode: number;
  /** Whether IPC_RMID marked it for removal (Linux's `SHM_DEST`). */
  readonly removed: boolean;
  readonly size: number;
  readonly attached: number;
}

/** An attached System V segment. */
export interface SysvAttachment {
  readonly id: number;
  readonly key: number;
  readonly raw: RawMapping;
  /** Copies the shared bytes `[offset, offset + length)` into a snapshot again; `undefined` for a live attachment. */
  readonly refresh: ((offset: number, length: number) => void) | undefined;
}

/** System V shared memory on one platform. */
export interface SysvBackend {
  create(size: number, key: number | undefined, mode: number): SysvAttachment;
  attach(id: number, copy: boolean): SysvAttachment;
  idOf(key: number): number;
  remove(id: number): void;
  stat(id: number): SysvStat;
  list(): SysvRecord[];
}

/** An anonymous segment this process holds, and the handle others open it by. */
export interface AnonymousRaw {
  readonly raw: RawMapping;
  readonly handle: string;
}

/** Anonymous shared memory that cannot leak, on one platform. */
export interface AnonymousBackend {
  /** Checks a handle's form before any call; returns it. */
  checkHandle(handle: unknown): string;
  create(size: number): AnonymousRaw;
  /** Opens the memory behind a checked handle; `copy` maps it private. */
  open(handle: string, copy: boolean): AnonymousRaw;
}

// --- waiting, processes, CPUs --------------------------------------------------------------------

/**
 * One platform's way to sleep on a word and wake the sleepers. Arguments
 * arrive validated: `word` is a one-element Int32Array over the word,
 * `address` its address, `timeoutMs` a finite number >= 0 or Infinity.
 * Every method may wake spuriously ("ok" with the word unchanged); callers
 * re-check their condition.
 */
export interface WaitBackend {
  /** Blocks this thread while the word equals `expected`. Never returns before `timeoutMs` has passed on "timed-out". */
  wait(word: Int32Array, address: bigint, expected: number, timeoutMs: number): WaitResult;
  /** Wakes up to `count` waiters (any process); returns how many were woken, when the platform can tell. */
  notify(word: Int32Array, address: bigint, count: number): number;
  /** Like wait, off the main thread. */
  waitAsync(word: Int32Array, address: bigint, expected: number, timeoutMs: number): Promise<WaitResult>;
}

/** A live process as the probe sees it. Both numbers must fit the Mutex's owner word (22 and 42 bits). */
export interface ProcessIdentity {
  /** The pid as the probe packs it (Windows: the pid divided by 4, as pids are multiples of 4). */
  readonly pid: number;
  /**
   * Start time in the OS's unit (Linux: clock ticks after boot; macOS and
   * Windows: ms since 1970, modulo 2^42); 0 when the OS does not tell.
   */
  readonly start: number;
}

/** What the lock code asks of the OS to recover a lock whose owner died. */
export interface ProcessProbe {
  /** This process. */
  self(): ProcessIdentity;
  /** False only when the process `pid` that started at `start` has certainly ended. */
  alive(pid: number, start: number): boolean;
}

/** Hints for adaptive spinning and yielding. */
export interface CpuHints {
  /** The CPU this thread runs on now, or -1 where the system cannot tell. A hint only: it may be stale at once. */
  currentCpu(): number;
  /** Gives this CPU to another runnable thread; false, without yielding, where the system has no such call. */
  yieldCpu(): boolean;
}

// --- inventory and holders -----------------------------------------------------------------------

/** What a collector does, already validated. */
export interface CollectRequest {
  readonly dryRun: boolean;
  /** Segments created less than this many ms ago are left alone. */
  readonly graceMs: number;
  /** Only names starting with this are considered. */
  readonly prefix: string;
}

/** How one platform lists, inspects and collects its named segments. */
export interface Inventory {
  list(): SegmentInfo[];
  /** One segment by its portable name; ShmError `ENOENT` when there is none. */
  inspect(name: string): SegmentInfo;
  collect(request: CollectRequest): SegmentInfo[];
}

/** Who holds a named segment. */
export interface Holders {
  /**
   * Records the identity of the object behind `handle` now, and returns a
   * check that tells later whether `name` still refers to it. Where objects
   * are not visible as files the check always says yes.
   */
  sameObject(name: string, handle: number | bigint): () => boolean;
}

// --- the whole platform --------------------------------------------------------------------------

/** Everything the public classes ask of one operating system. Parts that load libraries do so on first use. */
/** A record of a worker thread's mapping in the {@link ThreadLedger}: mark it closing before the release, forget it after; -1 when none was made. */
export type ThreadRecord = number;

/**
 * What a terminated worker thread held, released by the threads that live
 * on: worker threads record each mapping, and a record whose thread is gone
 * has its descriptor closed (and its mapping unmapped where no buffer can
 * have left that thread). A platform without it records nothing.
 */
export interface ThreadLedger {
  /** Records a mapping of this worker thread (`unmap`: whether it may be unmapped once the thread is gone); sweeps dead threads' records. */
  remember(fd: number, address: bigint, length: number, unmap: boolean): ThreadRecord;
  /** The record's mapping must stay mapped after all (its address was handed out, or a buffer escaped). */
  keepMapped(record: ThreadRecord): void;
  /**
   * Its owner starts releasing the mapping itself (a sweeper then closes the
   * descriptor only while it names the recorded file, and never unmaps); with
   * `unmap`, unmaps it when the record may: returns whether it did (then only the handle is left to close).
   */
  closing(record: ThreadRecord, unmap: boolean): boolean;
  /** Drops a record once its owner released the mapping and closed the descriptor itself. */
  forget(record: ThreadRecord): void;
  /** Releases what records of dead threads hold; returns how many it released. */
  sweep(): number;
}

export interface Platform {
  /** The OS, `process.platform` spelling. */
  readonly os: string;
  readonly named: NamedBackend;
  readonly file: FileBackend;
  readonly sysv: SysvBackend;
  readonly anonymous: AnonymousBackend;
  readonly inventory: Inventory;
  readonly holders: Holders;
  readonly cpu: CpuHints;
  readonly threads: ThreadLedger;
  /** The wait backend (built once, on first call). */
  waitBackend(): WaitBackend;
  /** The process probe (built once, on first call). */
  processProbe(): ProcessProbe;
}
