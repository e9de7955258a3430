/**
 * A file mapped into memory: its bytes are the file's bytes, shared with
 * every process that maps or reads it.
 *
 * @module
 */
import { attachOwner, MappedMemory } from "./mapped_memory.ts";
import { checkBoolean, checkMode, checkSize, integer, readOptions } from "./internal/options.ts";
import type { OptionKeys } from "./internal/options.ts";
import type { MappedFileOptions } from "./types.ts";
import { platform } from "./platform/mod.ts";
import type { FileOpenRequest, MappedFileRaw } from "./platform/mod.ts";
import { checkBounds } from "./region.ts";
import { MappingOwner } from "./internal/views.ts";

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

  private constructor(path: string, owner: MappingOwner, flush: (offset: number, length: number) => void) {
    super();
    this.path = path;
    this.#flush = flush;
    attachOwner(this, owner);
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
    const { raw, flush } = mapFile(checked, size, { create, mode, copy });
    return new MappedFile(checked, new MappingOwner(raw, copy, `MappedFile '${checked}'`), flush);
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

/**
 * Opens `path` and maps `size` bytes of it (the whole file when `undefined`):
 * an empty file, or a read-only or private one shorter than `size`, is
 * refused (bytes past a file's end would crash the process); a shorter
 * writable one is grown. Anything that fails undoes the open, the growth and
 * a file this call created.
 */
function mapFile(path: string, size: number | undefined, request: FileOpenRequest): MappedFileRaw {
  const file = platform().file.open(path, request);
  let grownFrom: number | undefined;
  try {
    const length = size ?? file.size;
    if (length === 0) {
      throw file.refusal("empty", `File '${path}' is empty: there is nothing to map (pass { size } to grow it)`);
    }
    if (length > file.maxSize) {
      throw file.refusal("too-large", `File '${path}' is ${length} bytes, more than can be mapped`);
    }
    if (length > file.size) {
      if (request.copy) {
        throw file.refusal(
          "short",
          `File '${path}' holds ${file.size} bytes, fewer than the ${length} asked for; a read-only or private ` +
            `mapping cannot grow it, and bytes past its end would crash the process`,
        );
      }
      grownFrom = file.size;
      file.grow(length);
    }
    return file.map(length);
  } catch (error) {
    file.abandon(grownFrom);
    throw error;
  }
}
