/**
 * A file mapped into memory: its bytes are the file's bytes, shared with
 * every process that maps or reads it.
 *
 * @module
 */
import { attachViews, MappedMemory } from "./mapped_memory.ts";
import { checkBoolean, checkMode, checkSize, integer, readOptions } from "./internal/options.ts";
import type { OptionKeys } from "./internal/options.ts";
import { fileBackend } from "./internal/file_backend.ts";
import { checkBounds } from "./region.ts";
import { Views } from "./internal/views.ts";

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

const MAX_SIZE = 2 ** 47;
const OPEN_KEYS: OptionKeys<MappedFileOptions> = {
  size: true,
  create: true,
  mode: true,
  readOnly: true,
  private: true,
};

function checkPath(path: unknown): string {
  if (typeof path !== "string") throw new TypeError(`File path must be a string, got ${typeof path}`);
  if (path.length === 0) throw new RangeError("File path must not be empty, got ''");
  if (path.includes("\0")) throw new RangeError(`File path must not contain NUL, got ${JSON.stringify(path)}`);
  return path;
}

/**
 * A regular file mapped `MAP_SHARED`: writes through the views are the
 * file's bytes, seen at once by every process mapping it and by plain reads
 * of the file; `flush()` writes them to disk and waits.
 *
 * Safety: the mapping never reaches past the end of the file (an empty
 * file, a directory, or a `size` larger than a read-only file holds is an
 * error, never a crash). One thing no library can prevent on POSIX: if
 * another process truncates the file while it is mapped, touching the lost
 * pages kills this process with SIGBUS. Do not truncate files others map.
 * Windows refuses such a truncation instead (`ERROR_USER_MAPPED_FILE`).
 *
 * On Windows the file is opened with `CreateFileW` sharing read, write and
 * delete, and mapped with `CreateFileMappingW` + `MapViewOfFile`; paths may
 * use `/` or `\`. Errors carry the POSIX code (`ENOENT`, `EACCES`,
 * `EISDIR`, ...) and the Win32 error number in `errno`.
 *
 * @example Write a file through memory
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { MappedFile } from "./mod.ts";
 *
 * const dir = mkdtempSync(join(tmpdir(), "shmem-"));
 * try {
 *   using file = MappedFile.open(join(dir, "data.bin"), { size: 1 << 20, create: true });
 *   file.bytes().set([1, 2, 3]);
 *   file.flush(); // on disk now
 * } finally {
 *   rmSync(dir, { recursive: true }); // after `using` closed the file
 * }
 * ```
 */
export class MappedFile extends MappedMemory {
  /** The path as given to open(). */
  readonly path: string;
  readonly #flush: (offset: number, length: number) => void;

  private constructor(path: string, views: Views, flush: (offset: number, length: number) => void) {
    super();
    this.path = path;
    this.#flush = flush;
    attachViews(this, views);
  }

  /**
   * Opens and maps a file.
   *
   * @param path The file's path (relative to the working directory, or absolute).
   * @param options `size` (default: the whole file), `create` (default `false`), `mode` (default `0o600`),
   *   `readOnly` (default `false`), `private` (default `false`).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {TypeError|RangeError} for a bad path or option, before any system call.
   * @throws {ShmError} `ENOENT`, `EACCES`, `EISDIR`, `ENOSPC`, or `EINVAL` for an empty or too short file;
   *   a file this call created is removed again, one it grew gets its old length back.
   * @example Read a file zero-copy
   * ```ts
   * import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * import { MappedFile } from "./mod.ts";
   *
   * const dir = mkdtempSync(join(tmpdir(), "shmem-"));
   * try {
   *   writeFileSync(join(dir, "data.bin"), new Uint8Array([7, 8, 9]));
   *   using file = MappedFile.open(join(dir, "data.bin"), { readOnly: true });
   *   console.log(file.size, file.bytes()[0]); // 3 7
   * } finally {
   *   rmSync(dir, { recursive: true });
   * }
   * ```
   */
  static open(path: string, options?: MappedFileOptions): MappedFile {
    const checked = checkPath(path);
    const o = readOptions(options, "MappedFile.open", OPEN_KEYS);
    const size = o.size === undefined ? undefined : checkSize(o.size, MAX_SIZE, "File size");
    const create = checkBoolean(o.create, "create", false);
    const mode = checkMode(o.mode, 0o600);
    const readOnly = checkBoolean(o.readOnly, "readOnly", false);
    const priv = checkBoolean(o.private, "private", false);
    const copy = readOnly || priv;
    if (create && copy) {
      throw new RangeError(
        `Option 'create' needs a writable mapping, got create: true with ${readOnly ? "readOnly" : "private"}: true`,
      );
    }
    const { raw, flush } = fileBackend()(checked, { size, create, mode, copy });
    return new MappedFile(checked, new Views(raw, copy, `MappedFile '${checked}'`), flush);
  }

  /**
   * Writes the mapped bytes `[offset, offset + length)` to the file and
   * waits until they are on disk (`msync` with `MS_SYNC`; on Windows
   * `FlushViewOfFile` + `FlushFileBuffers`; the start is aligned down to a
   * page). After `flush()` the data survives this process
   * and a system crash. Without it the system still writes the bytes back
   * eventually, even after close() or a crash of this process. Does nothing
   * on a read-only or private mapping.
   *
   * @param offset Start in bytes; default 0.
   * @param length Bytes; default: the rest of the mapping.
   * @throws {RangeError} when the window is not inside the mapping.
   * @throws {ShmError} `EIO` when the write-back failed, `ERR_USE_AFTER_CLOSE` after close().
   * @example
   * ```ts
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * import { MappedFile } from "./mod.ts";
   *
   * const dir = mkdtempSync(join(tmpdir(), "shmem-"));
   * try {
   *   using file = MappedFile.open(join(dir, "data.bin"), { size: 8192, create: true });
   *   file.bytes()[4096] = 1;
   *   file.flush(4096, 1);
   * } finally {
   *   rmSync(dir, { recursive: true });
   * }
   * ```
   */
  flush(offset: number = 0, length?: number): void {
    if (this.closed) this.bytes(); // throws ERR_USE_AFTER_CLOSE
    this.#flush(integer(offset), checkBounds(offset, length, this.size));
  }
}
