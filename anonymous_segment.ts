/**
 * Anonymous shared memory: no name to leak, freed with the last process
 * that holds it.
 *
 * @module
 */
import { attachOwner, MappedMemory } from "./mapped_memory.ts";
import { checkBoolean, checkSize, readOptions } from "./internal/options.ts";
import type { OptionKeys } from "./internal/options.ts";
import { platform } from "./platform/mod.ts";
import type { AnonymousRaw } from "./platform/mod.ts";
import type { AnonymousCreateOptions, AnonymousOpenOptions } from "./types.ts";
import { MappingOwner } from "./internal/views.ts";

const MAX_SIZE = 2 ** 47;
const CREATE_KEYS: OptionKeys<AnonymousCreateOptions> = { size: true };
const OPEN_KEYS: OptionKeys<AnonymousOpenOptions> = { readOnly: true, private: true };

/**
 * Shared memory with no name (Linux `memfd_create`). Nothing in `/dev/shm`,
 * nothing to unlink: the memory vanishes when the last process holding it
 * exits, even when every one was killed with SIGKILL. It is sealed against
 * resizing, so no process can truncate it into a SIGBUS.
 *
 * Other processes of the same user open it from its {@link handle}, a string
 * you pass them (argv, a pipe, an environment variable). Every holder has its
 * own handle, valid while that holder keeps the segment open.
 *
 * Linux only: elsewhere this throws `ERR_UNSUPPORTED`. On macOS the closest
 * equivalent is a named {@link Segment} unlinked as soon as every peer has
 * opened it.
 *
 * @example Share with a child process, leak nothing
 * ```ts
 * import { AnonymousSegment } from "./mod.ts";
 *
 * // Process A
 * using seg = AnonymousSegment.create({ size: 1 << 20 });
 * seg.bytes()[0] = 42;
 * // ...start process B with seg.handle ("/proc/1234/fd/17") in its argv; B does:
 * using peer = AnonymousSegment.open(seg.handle);
 * console.log(peer.bytes()[0]); // 42
 * ```
 */
export class AnonymousSegment extends MappedMemory {
  /** The string other processes pass to {@link AnonymousSegment.open}: `/proc/<pid>/fd/<fd>` of this process. */
  readonly handle: string;

  private constructor(anonymous: AnonymousRaw, copy: boolean) {
    super();
    this.handle = anonymous.handle;
    attachOwner(this, new MappingOwner(anonymous.raw, copy, `Anonymous segment ${anonymous.handle}`));
  }

  /**
   * Creates anonymous shared memory, zero-filled, and maps it read-write.
   *
   * @param options `size` (required).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {TypeError|RangeError} for a bad size, before any system call.
   * @throws {ShmError} `ENOSPC`/`ENOMEM` when memory is short; `ERR_UNSUPPORTED` off Linux.
   * @example
   * ```ts
   * import { AnonymousSegment } from "./mod.ts";
   * using seg = AnonymousSegment.create({ size: 4096 });
   * seg.handle; // "/proc/<pid>/fd/<fd>"
   * ```
   */
  static create(options: AnonymousCreateOptions): AnonymousSegment {
    const o = readOptions(options, "AnonymousSegment.create", CREATE_KEYS);
    const size = checkSize(o.size, MAX_SIZE, "Segment size");
    return new AnonymousSegment(platform().anonymous.create(size), false);
  }

  /**
   * Opens the anonymous segment another process (or this one) holds.
   *
   * @param handle Its {@link AnonymousSegment.handle}, `/proc/<pid>/fd/<fd>`.
   * @param options `readOnly` (default `false`), `private` (default `false`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {RangeError} for a string that is not a handle, before any system call.
   * @throws {ShmError} `ENOENT` when the holder exited or closed it, `EACCES` for another user's,
   *   `EINVAL` when the handle names something else than an anonymous segment (also a stale handle whose
   *   descriptor number now names a file, socket or pipe: that is never opened).
   * @example
   * ```ts
   * import { AnonymousSegment } from "./mod.ts";
   * using seg = AnonymousSegment.create({ size: 4096 });
   * using reader = AnonymousSegment.open(seg.handle, { readOnly: true });
   * reader.bytes()[0]; // 0
   * ```
   */
  static open(handle: string, options?: AnonymousOpenOptions): AnonymousSegment {
    const checked = platform().anonymous.checkHandle(handle);
    const o = readOptions(options, "AnonymousSegment.open", OPEN_KEYS);
    const readOnly = checkBoolean(o.readOnly, "readOnly", false);
    const priv = checkBoolean(o.private, "private", false);
    return new AnonymousSegment(platform().anonymous.open(checked, readOnly || priv), readOnly || priv);
  }
}
