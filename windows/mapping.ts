/**
 * Named shared memory on Windows: a pagefile-backed file mapping
 * (`CreateFileMappingW(INVALID_HANDLE_VALUE, ...)`), opened by name with
 * `OpenFileMappingW` and mapped with `MapViewOfFile`.
 *
 * Lifetime is Windows' own: the mapping disappears when its last handle (and
 * view) closes, so there is nothing to unlink. The portable name `frames`
 * becomes `Local\frames` (or `Global\frames` when asked).
 *
 * @module
 */
import type { CreateRequest, NamedBackend, Namespace, OpenRequest, RawMapping } from "../internal/backend.ts";
import type { NameRules } from "../names.ts";
import { kernel32, WIN } from "./kernel32.ts";
import type { Kernel32 } from "./kernel32.ts";
import { win32Error } from "./errors.ts";
import type { ShmError } from "../errors.ts";

/** Name rules: kernel object names are at most MAX_PATH (260) UTF-16 units with the prefix. */
export const WINDOWS_NAME_RULES: NameRules = {
  platform: "Windows",
  maxUnits: 260,
  unit: "utf16",
  prefixUnits: "Global\\".length,
  forbidden: ["\\"],
};

/** `Local\<name>` or `Global\<name>`, as NUL-terminated UTF-16. */
export function objectName(name: string, namespace: Namespace): Uint16Array {
  const full = `${namespace === "global" ? "Global" : "Local"}\\${name}`;
  const out = new Uint16Array(full.length + 1);
  for (let i = 0; i < full.length; i++) out[i] = full.charCodeAt(i);
  return out;
}

/**
 * The error of a failed CreateFileMappingW/OpenFileMappingW. Events, mutexes,
 * semaphores, timers and jobs share the mappings' namespace: a name taken by
 * one of them fails with ERROR_INVALID_HANDLE, which means "the name exists"
 * to create (EEXIST) and "no segment has this name" to open (ENOENT).
 */
function mappingError(call: string, error: number, name: string): ShmError {
  if (error !== WIN.ERROR_INVALID_HANDLE) return win32Error(call, error, name);
  const creating = call === "CreateFileMappingW";
  return win32Error(
    call,
    error,
    name,
    creating ? "EEXIST" : "ENOENT",
    "ERROR_INVALID_HANDLE: the name belongs to another kind of kernel object, such as an event or a mutex",
  );
}

function mapView(w: Kernel32, handle: bigint, access: number, size: number, name: string): bigint {
  const address = w.k.symbols.MapViewOfFile(handle, access, 0, 0, size) as bigint;
  if (address === 0n) {
    const error = w.k.symbols.GetLastError() as number;
    w.k.symbols.CloseHandle(handle);
    throw win32Error("MapViewOfFile", error, name);
  }
  return address;
}

function rawMapping(w: Kernel32, address: bigint, size: number, handle: bigint): RawMapping {
  return {
    address,
    size,
    handle,
    release(keepMapped = false) {
      if (!keepMapped) w.k.symbols.UnmapViewOfFile(address);
      w.k.symbols.CloseHandle(handle);
    },
  };
}

/**
 * The size of an opened mapping: the section's size from NtQuerySection (the
 * creator's size as Windows keeps it; Wine 8 keeps it rounded up to the 4 KiB
 * page), else the mapped view's size from VirtualQuery (whole pages).
 */
function mappingSize(w: Kernel32, handle: bigint, address: bigint): number {
  const query = w.nt?.symbols.NtQuerySection;
  if (query) {
    const info = new Uint8Array(WIN.SECTION_BASIC_INFORMATION.bytes);
    const status = query(handle, WIN.SECTION_BASIC_INFORMATION.class, info, info.length, 0n) as number;
    if (status === 0) {
      const size = new DataView(info.buffer).getBigInt64(WIN.SECTION_BASIC_INFORMATION.maximumSizeOffset, true);
      if (size > 0n) return Number(size);
    }
  }
  const mbi = new Uint8Array(WIN.MEMORY_BASIC_INFORMATION.bytes);
  if (Number(w.k.symbols.VirtualQuery(address, mbi, mbi.length)) === 0) {
    throw win32Error("VirtualQuery", w.k.symbols.GetLastError() as number);
  }
  return Number(new DataView(mbi.buffer).getBigUint64(WIN.MEMORY_BASIC_INFORMATION.regionSizeOffset, true));
}

function create(name: string, request: CreateRequest): RawMapping {
  const w = kernel32();
  const size = BigInt(request.size);
  // SEC_COMMIT charges the whole size against the commit limit now: running
  // out fails here (ERROR_COMMITMENT_LIMIT → ENOSPC), never on a later touch.
  const handle = w.k.symbols.CreateFileMappingW(
    WIN.INVALID_HANDLE_VALUE,
    0n,
    WIN.PAGE_READWRITE | WIN.SEC_COMMIT,
    Number(size >> 32n),
    Number(size & 0xffffffffn),
    objectName(name, request.namespace),
  ) as bigint;
  const error = w.k.symbols.GetLastError() as number;
  if (handle === 0n) throw mappingError("CreateFileMappingW", error, name);
  if (error === WIN.ERROR_ALREADY_EXISTS) {
    // The name existed: Windows handed back the existing mapping. Do not use it.
    w.k.symbols.CloseHandle(handle);
    throw win32Error(
      "CreateFileMappingW",
      error,
      name,
      undefined,
      undefined,
      "A process has a mapping of this name open (Windows names vanish with their last handle, so there is nothing to unlink): open it with open(), or pick another name (uniqueName() makes one)",
    );
  }
  const address = mapView(w, handle, WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE, request.size, name);
  return rawMapping(w, address, request.size, handle);
}

function open(name: string, request: OpenRequest): RawMapping {
  const w = kernel32();
  const copy = request.readOnly || request.private;
  const access = WIN.SECTION_QUERY | (copy ? WIN.FILE_MAP_READ : WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE);
  const handle = w.k.symbols.OpenFileMappingW(access, 0, objectName(name, request.namespace)) as bigint;
  if (handle === 0n) throw mappingError("OpenFileMappingW", w.k.symbols.GetLastError() as number, name);
  // FILE_MAP_COPY: a write through a read-only or private view lands in a
  // private copy of the page instead of faulting.
  const address = mapView(w, handle, copy ? WIN.FILE_MAP_COPY : WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE, 0, name);
  let size: number;
  try {
    size = mappingSize(w, handle, address);
  } catch (error) {
    w.k.symbols.UnmapViewOfFile(address);
    w.k.symbols.CloseHandle(handle);
    throw error;
  }
  return rawMapping(w, address, size, handle);
}

function unlink(_name: string, _namespace: Namespace): void {
  // A Windows mapping vanishes with its last handle: there is no name to remove.
}

/** The Windows backend for `os`, or `undefined` on other systems. */
export function windowsNamedBackend(os: string): NamedBackend | undefined {
  if (os !== "win32") return undefined;
  return { nameRules: WINDOWS_NAME_RULES, maxSize: 2 ** 47, persistent: false, create, open, unlink };
}
