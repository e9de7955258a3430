/**
 * Files mapped into memory on Windows: `CreateFileW`, `GetFileSizeEx`,
 * `SetFilePointerEx` + `SetEndOfFile` to grow a short file,
 * `CreateFileMappingW` on the file, `MapViewOfFile`, `FlushViewOfFile` +
 * `FlushFileBuffers`.
 *
 * The file handle stays open for the mapping's lifetime (FlushFileBuffers
 * needs it). Sharing is `FILE_SHARE_READ | FILE_SHARE_WRITE |
 * FILE_SHARE_DELETE`, so other processes may open, map, rename or delete the
 * file as on POSIX. Windows itself refuses to truncate a file while any
 * process maps it (ERROR_USER_MAPPED_FILE), so the SIGBUS a truncation gives
 * on POSIX has no Windows counterpart. An I/O failure behind a mapped page
 * does: reading a page of a file on a network share, a removable drive or a
 * full sparse file that cannot be read in raises EXCEPTION_IN_PAGE_ERROR,
 * which ends a JavaScript process like an access violation.
 *
 * Read-only and private mappings open the file with GENERIC_READ only and
 * map it `PAGE_WRITECOPY` + `FILE_MAP_COPY`: a write lands in a private copy
 * of the page and never reaches the file.
 *
 * @module
 */
import type { ErrnoCode, FileBackend, FileOpenRequest, OpenFile, RawMapping } from "../platform/contracts.ts";
import type { ShmError } from "../errors.ts";
import { kernel32, WIN } from "./kernel32.ts";
import type { Kernel32 } from "./kernel32.ts";
import { win32Code, win32Error } from "./errors.ts";
import { wide } from "./strings.ts";

/** What to do about a failed call on a file, by errno code. */
const HINTS: Readonly<Record<string, string>> = {
  ENOENT: "No file at this path: check it, or pass { create: true } to create the file",
  EEXIST: "A file exists at this path",
  EACCES: "Access denied: open it with { readOnly: true }, or change the file's permissions",
  EROFS: "The disk is write-protected: open it with { readOnly: true }",
  ENOSPC: "The disk is full: free space or ask for a smaller size",
  EISDIR: "Only regular files can be mapped",
  ENOTDIR: "A part of the path is not a directory",
  EBUSY: "Another process holds the file in a way that excludes this use (a lock, or a mapping that forbids resizing)",
};

/** Retries of a FlushViewOfFile that met ERROR_LOCK_VIOLATION (sleeping 1, 2, ... ms: about 1 s in all). */
const FLUSH_RETRIES = 44;
const pause = new Int32Array(new SharedArrayBuffer(4));

function fail(w: Kernel32, call: string, path: string, error = w.k.symbols.GetLastError()): ShmError {
  return win32Error(call, error, path, undefined, undefined, HINTS[win32Code(error)]);
}

function invalid(call: string, error: number, path: string, message: string, code: ErrnoCode = "EINVAL"): ShmError {
  return win32Error(call, error, path, code, message, HINTS[code] ?? "");
}

/** A HANDLE from CreateFileW (`usize`), or `undefined` for INVALID_HANDLE_VALUE. */
function handleOf(result: number | bigint): bigint | undefined {
  const handle = BigInt(result);
  return handle === WIN.INVALID_HANDLE_VALUE ? undefined : handle;
}

/** Opens `path`; creates it when asked, exactly like O_CREAT|O_EXCL then a plain open on POSIX. */
function openFile(w: Kernel32, wPath: Uint16Array, path: string, request: FileOpenRequest) {
  const { k } = w;
  // `>>> 0`: the OR of bit 31 and bit 30 is negative in JavaScript, and a u32 parameter wants it unsigned.
  const access = request.copy ? WIN.GENERIC_READ : (WIN.GENERIC_READ | WIN.GENERIC_WRITE) >>> 0;
  const share = WIN.FILE_SHARE_READ | WIN.FILE_SHARE_WRITE | WIN.FILE_SHARE_DELETE;
  const open = (disposition: number) =>
    handleOf(k.symbols.CreateFileW(wPath, access, share, 0n, disposition, WIN.FILE_ATTRIBUTE_NORMAL, 0n));
  for (let attempt = 0; attempt < 8; attempt++) {
    if (request.create) {
      const handle = open(WIN.CREATE_NEW);
      if (handle !== undefined) return { handle, created: true };
      const error = k.symbols.GetLastError();
      if (error !== WIN.ERROR_FILE_EXISTS && error !== WIN.ERROR_ALREADY_EXISTS) {
        throw openError(w, wPath, path, error);
      }
    }
    const handle = open(WIN.OPEN_EXISTING);
    if (handle !== undefined) return { handle, created: false };
    const error = k.symbols.GetLastError();
    // Removed between the two calls: try creating it again.
    if (!(request.create && error === WIN.ERROR_FILE_NOT_FOUND)) throw openError(w, wPath, path, error);
  }
  throw fail(w, "CreateFileW", path, WIN.ERROR_FILE_NOT_FOUND);
}

/** CreateFileW's error; a directory (ERROR_ACCESS_DENIED without backup semantics) is EISDIR. */
function openError(w: Kernel32, wPath: Uint16Array, path: string, error: number): ShmError {
  if (error === WIN.ERROR_ACCESS_DENIED || error === WIN.ERROR_FILE_EXISTS) {
    const attributes = w.k.symbols.GetFileAttributesW(wPath);
    if (attributes !== WIN.INVALID_FILE_ATTRIBUTES && (attributes & WIN.FILE_ATTRIBUTE_DIRECTORY) !== 0) {
      return invalid("CreateFileW", error, path, `'${path}' is a directory, not a file`, "EISDIR");
    }
  }
  return fail(w, "CreateFileW", path, error);
}

/** The file's length in bytes. */
function fileSize(w: Kernel32, handle: bigint, path: string): number {
  const size = new BigInt64Array(1);
  if (w.k.symbols.GetFileSizeEx(handle, size) === 0) throw fail(w, "GetFileSizeEx", path);
  return Number(size[0]);
}

/**
 * Sets the file's length. NTFS allocates the clusters of a (non-sparse) file
 * here, so a full disk fails now with ERROR_DISK_FULL. Wine 8 sets the length
 * with ftruncate and has no FileAllocationInformation: under Wine the grown
 * part is sparse, as with `{ reserve: false }` on Linux.
 */
function setLength(w: Kernel32, handle: bigint, size: number, path: string): void {
  if (w.k.symbols.SetFilePointerEx(handle, BigInt(size), 0n, WIN.FILE_BEGIN) === 0) {
    throw fail(w, "SetFilePointerEx", path);
  }
  if (w.k.symbols.SetEndOfFile(handle) === 0) throw fail(w, "SetEndOfFile", path);
}

/** Errors of a size the public layer refused: the Win32 error that names each reason. */
const REFUSALS = {
  empty: WIN.ERROR_FILE_INVALID,
  short: WIN.ERROR_INVALID_PARAMETER,
  "too-large": WIN.ERROR_INVALID_PARAMETER,
} as const;

/** Opens `path` for mapping (see {@link FileOpenRequest}); the caller decides the size and undoes on failure. */
function open(path: string, request: FileOpenRequest): OpenFile {
  const w = kernel32();
  const { k } = w;
  const wPath = wide(path);
  const { handle: file, created } = openFile(w, wPath, path, request);
  const abandon = (grownFrom: number | undefined) => {
    if (!created && grownFrom !== undefined) {
      k.symbols.SetFilePointerEx(file, BigInt(grownFrom), 0n, WIN.FILE_BEGIN);
      k.symbols.SetEndOfFile(file);
    }
    k.symbols.CloseHandle(file);
    if (created) k.symbols.DeleteFileW(wPath);
  };
  try {
    if (k.symbols.GetFileType(file) !== WIN.FILE_TYPE_DISK) {
      throw invalid(
        "GetFileType",
        WIN.ERROR_FILE_INVALID,
        path,
        `'${path}' is not a regular file (a device, pipe or console cannot be mapped safely)`,
      );
    }
    return {
      size: fileSize(w, file, path),
      created,
      maxSize: 2 ** 47,
      grow: (size) => setLength(w, file, size, path),
      refusal: (reason, message) => invalid("CreateFileMappingW", REFUSALS[reason], path, message),
      map: (size) => mapOpen(w, file, path, size, request.copy),
      abandon,
    };
  } catch (error) {
    abandon(undefined);
    throw error;
  }
}

/** Maps `size` bytes of the open `file`; on failure closes what it made (the caller then abandons the file). */
function mapOpen(w: Kernel32, file: bigint, path: string, size: number, copy: boolean) {
  const { k } = w;
  // Maximum size 0: the section is the whole (possibly grown) file; the view maps `size` bytes of it.
  const section = k.symbols.CreateFileMappingOfFile(
    file,
    0n,
    copy ? WIN.PAGE_WRITECOPY : WIN.PAGE_READWRITE,
    0,
    0,
    0n,
  );
  if (section === 0n) throw fail(w, "CreateFileMappingW", path);
  const address = k.symbols.MapViewOfFile(
    section,
    copy ? WIN.FILE_MAP_COPY : WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE,
    0,
    0,
    size,
  );
  if (address === 0n) {
    const error = fail(w, "MapViewOfFile", path);
    // The section must go first: a mapped file cannot be shrunk or deleted.
    k.symbols.CloseHandle(section);
    throw error;
  }
  const raw: RawMapping = {
    address,
    size,
    handle: section,
    release(keepMapped = false) {
      if (!keepMapped) k.symbols.UnmapViewOfFile(address);
      k.symbols.CloseHandle(section);
      k.symbols.CloseHandle(file);
    },
  };
  const flush = (offset: number, length: number) => {
    if (copy || length === 0) return; // length 0 would mean "to the end of the view"
    const start = offset - (offset % WIN.PAGE_SIZE);
    // FlushViewOfFile can fail with a transient ERROR_LOCK_VIOLATION while
    // the memory manager writes the same pages (RocksDB's and Nim's
    // Windows mmap code retry it): try again for up to about a second.
    for (let attempt = 0;; attempt++) {
      if (k.symbols.FlushViewOfFile(address + BigInt(start), offset + length - start) !== 0) break;
      const error = k.symbols.GetLastError();
      if (error !== WIN.ERROR_LOCK_VIOLATION || attempt >= FLUSH_RETRIES) {
        throw fail(w, "FlushViewOfFile", path, error);
      }
      Atomics.wait(pause, 0, 0, 1 + attempt);
    }
    if (k.symbols.FlushFileBuffers(file) === 0) throw fail(w, "FlushFileBuffers", path);
  };
  return { raw, flush };
}

/** Mapping regular files through kernel32. */
export const windowsFileBackend: FileBackend = { open };
