/**
 * The internal interface between {@link MappedFile} and the platform code
 * that maps a regular file, and the choice of backend for this operating
 * system.
 *
 * @module
 */
import type { RawMapping } from "./backend.ts";
import { ffi } from "../ffi/mod.ts";
import { mapFile as posixMapFile } from "../posix/file.ts";
import { windowsFileBackend } from "../windows/file.ts";

/** Options of {@link FileBackend}, already validated. */
export interface FileRequest {
  /** Bytes to map; `undefined` maps the whole file. */
  readonly size: number | undefined;
  readonly create: boolean;
  /** POSIX permission bits of a file this call creates (ignored on Windows). */
  readonly mode: number;
  /** Open for reading only and map a private copy-on-write view. */
  readonly copy: boolean;
}

/** A mapped file and its write-back. */
export interface MappedFileRaw {
  readonly raw: RawMapping;
  /** Writes bytes `[offset, offset + length)` to disk and waits; the start is aligned down to a page. */
  readonly flush: (offset: number, length: number) => void;
}

/** Opens and maps a file; undoes everything it did on failure. */
export type FileBackend = (path: string, request: FileRequest) => MappedFileRaw;

/**
 * The backend for `os` (`process.platform` spelling). The POSIX one also
 * answers for an unknown OS, with an `ERR_UNSUPPORTED` ShmError.
 */
export function fileBackendFor(os: string): FileBackend {
  return windowsFileBackend(os) ?? posixMapFile;
}

let current: FileBackend | undefined;

/** The backend of this process's OS. */
export function fileBackend(): FileBackend {
  return current ??= fileBackendFor(ffi.os);
}
