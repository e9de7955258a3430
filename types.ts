/**
 * The public types in one place: options, the records the listing calls
 * return, and the codes a `ShmError` carries. mod.ts re-exports them.
 *
 * @module
 */
/** Windows' kernel object namespaces: `Local\` (this session) or `Global\` (all sessions). */
export type Namespace = "local" | "global";

/** What a wait ended with, as `Atomics.wait` names it. */
export type WaitResult = "ok" | "not-equal" | "timed-out";

/** Options of {@link Segment.create}. */
export interface CreateOptions {
  /** Size in bytes: a positive integer. Required. */
  size: number;
  /**
   * Permission bits of the new segment (POSIX), applied exactly (the umask
   * does not narrow them). Default `0o600`: only this user. Ignored on
   * Windows: there the security descriptor is the creator's default (its
   * user, SYSTEM and Administrators get full access; other users of the
   * session get nothing) unless {@link CreateOptions.sddl} gives one.
   */
  mode?: number;
  /**
   * Windows only: the mapping's security descriptor in SDDL, for example
   * `"D:P(A;;GA;;;OW)(A;;GR;;;WD)"` (owner full access, everyone read).
   * Default: the creator's default DACL (see {@link CreateOptions.mode}).
   * A descriptor Windows rejects fails with `EINVAL` before anything is
   * created. Ignored elsewhere.
   */
  sddl?: string;
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

/** Options of {@link SysvSegment.create}. */
export interface SysvCreateOptions {
  /** Size in bytes: a positive integer. Required. */
  size: number;
  /**
   * The key other processes find it by (`ipcs` shows it as hex): an integer
   * from 1 to 0xffffffff (or a negative 32-bit `key_t`). Default: none, a
   * private segment (`IPC_PRIVATE`) that others open by its `id`. Fails with
   * `EEXIST` when a segment has this key.
   */
  key?: number;
  /** Permission bits, applied exactly (System V ignores the umask). Default `0o600`: only this user. */
  mode?: number;
}

/** Options of {@link SysvSegment.open} and {@link SysvSegment.openKey}. */
export interface SysvOpenOptions {
  /**
   * Read only. Default `false`. Needs only read permission. System V cannot
   * map a segment copy-on-write, and its read-only attachment would kill the
   * process on a stray write, so this maps a private copy taken at open:
   * writes to it stay in this process and never crash; {@link SysvSegment.refresh}
   * copies the shared bytes again.
   */
  readOnly?: boolean;
  /** Copy-on-write. Default `false`. The same private copy as `readOnly`: this process's writes stay its own. */
  private?: boolean;
}

/** Options of {@link AnonymousSegment.create}. */
export interface AnonymousCreateOptions {
  /** Size in bytes: a positive integer. Required. The memory is reserved at once (`ENOSPC`/`ENOMEM` here, never SIGBUS later). */
  size: number;
}

/** Options of {@link AnonymousSegment.open}. */
export interface AnonymousOpenOptions {
  /**
   * Map for reading only. Default `false`. Reads are zero-copy and see the
   * others' writes; a write through a view never crashes and never reaches
   * the shared memory (it lands in a private copy of that page).
   */
  readOnly?: boolean;
  /** Copy-on-write. Default `false`. This process's writes stay its own. */
  private?: boolean;
}

/** Options of {@link MappedFile.open}. */
export interface MappedFileOptions {
  /**
   * Bytes to map, from the start of the file. Default: the whole file. A
   * shorter file is grown to this size (the space reserved with
   * `posix_fallocate` on Linux, and allocated by `SetEndOfFile` on Windows'
   * NTFS, so a full disk fails here with `ENOSPC`); a longer one keeps its
   * length and only `size` bytes are mapped.
   */
  size?: number;
  /** Create the file when it does not exist. Default `false`. Needs a writable open. */
  create?: boolean;
  /**
   * Permission bits of a file this call creates, applied exactly (the umask does not narrow them). Default `0o600`.
   * Ignored on Windows, where a new file gets its folder's inherited permissions.
   */
  mode?: number;
  /**
   * Map for reading only. Default `false`. Needs only read permission.
   * Reads are zero-copy and see the file's changes; a write through a view
   * never crashes and never reaches the file (it lands in a private copy
   * of that page, which then stops following the file).
   */
  readOnly?: boolean;
  /**
   * Copy-on-write (`MAP_PRIVATE`; `FILE_MAP_COPY` on Windows). Default `false`. This process's writes stay its own:
   * the file and others never see them.
   */
  private?: boolean;
}

/** One System V segment, as /proc/sysvipc/shm describes it. */
export interface SysvRecord {
  /** The IPC key it was made with (0 for `IPC_PRIVATE`). */
  readonly key: number;
  /** The segment identifier (`shmid`). */
  readonly id: number;
  /** Permission bits (`0o600`, ...). */
  readonly mode: number;
  /** Marked for removal (`IPC_RMID`): freed when the last attachment goes. */
  readonly removed: boolean;
  /** Size in bytes. */
  readonly size: number;
  /** Process id of the creator. */
  readonly creatorPid: number;
  /** Process id of the last shmat/shmdt. */
  readonly lastPid: number;
  /** Number of current attachments (`nattch`). */
  readonly attachments: number;
  /** Owner user id. */
  readonly uid: number;
  /** Owner group id. */
  readonly gid: number;
  /** Last change (ctime). */
  readonly changed: Date;
}

/**
 * A named segment as `Segment.list()` reports it.
 *
 * @example Find the big ones
 * ```ts
 * import { Segment, type SegmentInfo } from "./mod.ts";
 * const big: SegmentInfo[] = Segment.list().filter((s) => s.size > 1 << 30);
 * ```
 */
export interface SegmentInfo {
  /** The portable name (no leading `/`). */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Permission bits (`0o600`, ...). */
  readonly mode: number;
  /** The owner's user id. */
  readonly uid: number;
  /** Last change of the object (its ctime). */
  readonly changed: Date;
  /**
   * Whether a process holds it through shmem (the kernel-kept lock): `true`,
   * `false`, or `undefined` when this user cannot open it to ask. Programs
   * that do not use shmem leave no lock, so `false` means "no shmem holder".
   */
  readonly held: boolean | undefined;
  /** Whether shmem created it with tracking (`undefined`: cannot be known). */
  readonly tracked: boolean | undefined;
  /** When shmem created it (tracked segments only). */
  readonly created: Date | undefined;
  /** The process id of its creator (tracked segments only). */
  readonly creatorPid: number | undefined;
}

/**
 * What a service's own layout says about it: its size and its live ports.
 * Both kinds of service describe themselves with it, and {@link ServiceInfo}
 * (what `listServices()` returns) extends it.
 *
 * @example The ports of a publish-subscribe service
 * ```ts
 * import assert from "node:assert/strict";
 * import { listServices, Publisher, type ServiceDescription, Subscriber, uniqueName } from "./mod.ts";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 256, subscribers: 4 });
 * using sub = Subscriber.open(name);
 * const about: ServiceDescription | undefined = listServices().find((s) => s.name === name);
 * if (about) assert.ok(about.capacity === 4 && about.live.subscribers === 1); // where segments are listed
 * ```
 */
export interface ServiceDescription {
  /** Subscriber slots (publish-subscribe) or client slots (request-response), fixed at creation. */
  readonly capacity: number;
  /** Bytes of one sample (publish-subscribe) or of one request slot (request-response). */
  readonly payloadBytes: number;
  /**
   * Live ports by role: `{ publishers, subscribers }` for publish-subscribe,
   * `{ servers, clients }` for request-response. A port counts as live unless
   * the process probe says its process has ended.
   */
  readonly live: Record<string, number>;
}

/**
 * One service, as `listServices()` reports it: what its header says (name,
 * kind, layout version, segment size) and its {@link ServiceDescription}.
 *
 * @example Services by kind
 * ```ts
 * import { listServices, type ServiceInfo } from "./mod.ts";
 *
 * const servers: ServiceInfo[] = listServices().filter((s) => s.kind === "request-response");
 * for (const s of servers) console.log(s.name, s.capacity, s.live.clients);
 * ```
 */
export interface ServiceInfo extends ServiceDescription {
  /** The service's (and its segment's) name. */
  readonly name: string;
  /** What kind of service it is. */
  readonly kind: "publish-subscribe" | "request-response";
  /** The version of the kind's layout. */
  readonly version: number;
  /** Bytes of the segment. */
  readonly size: number;
}

/** Options of `Segment.collect()`. */
export interface CollectOptions {
  /** Report what would be removed, and remove nothing. Default `false`. */
  dryRun?: boolean;
  /**
   * Leave alone segments created less than this many milliseconds ago (a
   * creator may still be starting). Default `10_000`.
   */
  graceMs?: number;
  /** Only consider names starting with this. Default `""` (every name). */
  prefix?: string;
}

/**
 * The errno names a `ShmError` may carry. A Win32 error is reported by
 * the errno name it maps to; an error no table knows is `E<number>` (POSIX)
 * or `EWIN<number>` (Windows).
 */
export type ErrnoCode =
  | "EPERM"
  | "ENOENT"
  | "ESRCH"
  | "EINTR"
  | "EIO"
  | "ENXIO"
  | "EBADF"
  | "EAGAIN"
  | "ENOMEM"
  | "EACCES"
  | "EFAULT"
  | "EBUSY"
  | "EEXIST"
  | "ENODEV"
  | "ENOTDIR"
  | "EISDIR"
  | "EINVAL"
  | "ENFILE"
  | "EMFILE"
  | "ETXTBSY"
  | "EFBIG"
  | "ENOSPC"
  | "ESPIPE"
  | "EROFS"
  | "EPIPE"
  | "EDEADLK"
  | "ENAMETOOLONG"
  | "ENOLCK"
  | "ENOSYS"
  | "ELOOP"
  | "EIDRM"
  | "ENODATA"
  | "ENOATTR"
  | "EOVERFLOW"
  | "ENOTSUP"
  | "EOPNOTSUPP"
  | "ETIMEDOUT"
  | "EOWNERDEAD"
  | "ENOTRECOVERABLE"
  | `E${number}`
  | `EWIN${number}`;

/** The codes of failures that are not a system call's error. */
export type LibraryErrorCode =
  /** The memory was closed (or detached) while it was used. */
  | "ERR_USE_AFTER_CLOSE"
  /** This operating system cannot do what was asked. */
  | "ERR_UNSUPPORTED"
  /** `close()` while a pin from `pin()` is held. */
  | "ERR_PINNED"
  /** A segment was created with a mode other than the one asked for (macOS). */
  | "ERR_MODE"
  /** A Mutex's `lock()` by the thread that holds it. */
  | "ERR_MUTEX_DEADLOCK"
  /** A Mutex's `unlock()` when it is not locked. */
  | "ERR_MUTEX_NOT_LOCKED"
  /** A Mutex's `unlock()` by a process that does not own it. */
  | "ERR_MUTEX_NOT_OWNER"
  /** A Channel whose shared header or records are not valid. */
  | "ERR_CHANNEL_INVALID"
  /** A Channel closed by either side. */
  | "ERR_CHANNEL_CLOSED"
  /** A service segment whose shared header or layout is not valid. */
  | "ERR_SERVICE_INVALID"
  /** A request-response server that closed or died: its clients' requests in flight fail. */
  | "ERR_SERVER_GONE"
  /** Every client slot of a request-response service, or every subscriber slot of a publish-subscribe service, is taken by a live port. */
  | "ERR_SERVICE_FULL"
  /** A request the server released without a response. */
  | "ERR_REQUEST_DROPPED"
  /** A request whose response did not come before its timeout. */
  | "ERR_REQUEST_TIMEOUT"
  /** A publish-subscribe receive after the publisher closed or died (everything queued was received). */
  | "ERR_PUBLISHER_GONE"
  /** More loaned or received samples than the service allows one port at once. */
  | "ERR_SAMPLE_LIMIT";

/**
 * Every `code` a `ShmError` may carry.
 *
 * @example Narrow on the code
 * ```ts
 * import { ShmError, type ShmErrorCode } from "./mod.ts";
 *
 * function retryable(code: ShmErrorCode): boolean {
 *   return code === "EAGAIN" || code === "EINTR";
 * }
 * const error = new ShmError({ code: "EAGAIN", errno: 11, message: "busy" });
 * console.log(retryable(error.code)); // true
 * ```
 */
export type ShmErrorCode = ErrnoCode | LibraryErrorCode;
