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
import type { CreateRequest, NamedBackend, Namespace, OpenRequest, RawMapping } from "../platform/contracts.ts";
import type { NameRules } from "../names.ts";
import { kernel32, WIN } from "./kernel32.ts";
import type { Kernel32 } from "./kernel32.ts";
import { win32Error } from "./errors.ts";
import { trackNamedMapping } from "./wait_objects.ts";
import { objectName, wide } from "./strings.ts";
import { ShmError } from "../errors.ts";

/** Name rules: kernel object names are at most MAX_PATH (260) UTF-16 units with the prefix. */
export const WINDOWS_NAME_RULES: NameRules = {
  platform: "Windows",
  maxUnits: 260,
  unit: "utf16",
  prefixUnits: "Global\\".length,
  forbidden: ["\\"],
};

export { objectName };

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
  const address = w.k.symbols.MapViewOfFile(handle, access, 0, 0, size);
  if (address === 0n) {
    const error = w.k.symbols.GetLastError();
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

/** What NtQuerySection says about a section: its attributes (`SEC_*`) and maximum size. */
export interface SectionInfo {
  readonly attributes: number;
  readonly maximumSize: number;
}

/** What VirtualQuery says about the region at a view's start. */
export interface RegionInfo {
  readonly size: number;
  readonly committed: boolean;
}

/** Decodes a SECTION_BASIC_INFORMATION buffer. */
export function decodeSectionInfo(info: Uint8Array): SectionInfo {
  const v = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const layout = WIN.SECTION_BASIC_INFORMATION;
  return {
    attributes: v.getUint32(layout.attributesOffset, true),
    maximumSize: Number(v.getBigInt64(layout.maximumSizeOffset, true)),
  };
}

/** Decodes a MEMORY_BASIC_INFORMATION buffer: the region's size and whether its pages are committed. */
export function decodeRegion(mbi: Uint8Array): RegionInfo {
  const v = new DataView(mbi.buffer, mbi.byteOffset, mbi.byteLength);
  const layout = WIN.MEMORY_BASIC_INFORMATION;
  return {
    size: Number(v.getBigUint64(layout.regionSizeOffset, true)),
    committed: v.getUint32(layout.stateOffset, true) === WIN.MEM_COMMIT,
  };
}

/**
 * How many bytes of an opened section may be handed out, or why none may.
 * - The size is the section's maximum size: the creator's size rounded up to
 *   a page, on Windows as on Wine (the kernel keeps pagefile sections in
 *   whole pages). Without NtQuerySection, the view's size (whole pages).
 * - `SEC_IMAGE`: an executable image, never shared memory: refused, as
 *   Chromium's `IsSectionSafeToMap` does.
 * - `SEC_RESERVE` (iceoryx2, .NET): pages are committed later with
 *   VirtualAlloc and touching an uncommitted one kills the process, so only
 *   the committed run at the start of the view (VirtualQuery) is handed out,
 *   and a section with nothing committed there is refused.
 */
export function usableSize(
  section: SectionInfo | undefined,
  region: RegionInfo,
): { size: number } | { refuse: string } {
  if (section && (section.attributes & WIN.SEC_IMAGE) !== 0) {
    return { refuse: "it is an executable image section (SEC_IMAGE), not shared memory" };
  }
  if (!region.committed) {
    return { refuse: "its first page is not committed (a SEC_RESERVE section with no memory committed yet)" };
  }
  if (!section || section.maximumSize <= 0) return { size: region.size };
  if ((section.attributes & WIN.SEC_RESERVE) !== 0) return { size: Math.min(section.maximumSize, region.size) };
  return { size: section.maximumSize };
}

function querySection(w: Kernel32, handle: bigint): SectionInfo | undefined {
  const query = w.nt?.symbols.NtQuerySection;
  if (!query) return undefined;
  const info = new Uint8Array(WIN.SECTION_BASIC_INFORMATION.bytes);
  const status = query(handle, WIN.SECTION_BASIC_INFORMATION.class, info, info.length, 0n);
  return status === 0 ? decodeSectionInfo(info) : undefined;
}

function queryRegion(w: Kernel32, address: bigint): RegionInfo {
  const mbi = new Uint8Array(WIN.MEMORY_BASIC_INFORMATION.bytes);
  if (Number(w.k.symbols.VirtualQuery(address, mbi, mbi.length)) === 0) {
    throw win32Error("VirtualQuery", w.k.symbols.GetLastError());
  }
  return decodeRegion(mbi);
}

/** A SECURITY_ATTRIBUTES buffer for `sddl`, and how to free its descriptor after the call. */
function securityAttributes(w: Kernel32, sddl: string, name: string): { buffer: Uint8Array; free: () => void } {
  const out = new BigUint64Array(1);
  const convert = w.advapi32().symbols.ConvertStringSecurityDescriptorToSecurityDescriptorW;
  if (convert(wide(sddl), WIN.SDDL_REVISION_1, out, 0n) === 0) {
    const error = w.k.symbols.GetLastError();
    throw win32Error(
      "ConvertStringSecurityDescriptorToSecurityDescriptorW",
      error,
      name,
      "EINVAL",
      `Windows rejected the SDDL string ${JSON.stringify(sddl)} (error ${error})`,
      'Give a valid SDDL security descriptor, such as "D:P(A;;GA;;;OW)"',
    );
  }
  const layout = WIN.SECURITY_ATTRIBUTES;
  const buffer = new Uint8Array(layout.bytes);
  const v = new DataView(buffer.buffer);
  v.setUint32(0, layout.bytes, true);
  v.setBigUint64(layout.descriptorOffset, out[0], true);
  v.setInt32(layout.inheritOffset, 0, true);
  return { buffer, free: () => w.k.symbols.LocalFree(out[0]) };
}

/** The hint of an ERROR_ACCESS_DENIED when creating under `Global\`. */
export const GLOBAL_EACCES_HINT =
  'Creating a Global\\ mapping needs the SeCreateGlobalPrivilege (services and administrators have it): run elevated, or use namespace "local"';

/**
 * Creates the mapping, with the `sddl` security descriptor when given (else
 * the creator's default DACL: its user, SYSTEM and Administrators). The
 * collision `ERROR_ALREADY_EXISTS` (Windows handed back an existing mapping)
 * is read by a GetLastError call right after CreateFileMappingW; a runtime
 * that ran Win32 code in between could clobber it, so tests/windows/single.ts
 * checks under Wine, in every runtime, that thousands of colliding creates
 * made under GC pressure all see it.
 */
export function createWith(w: Kernel32, name: string, request: CreateRequest): RawMapping {
  const size = BigInt(request.size);
  const security = request.sddl === undefined ? undefined : securityAttributes(w, request.sddl, name);
  // SEC_COMMIT charges the whole size against the commit limit now: running
  // out fails here (ERROR_COMMITMENT_LIMIT → ENOSPC), never on a later touch.
  const protect = WIN.PAGE_READWRITE | WIN.SEC_COMMIT;
  const high = Number(size >> 32n);
  const low = Number(size & 0xffffffffn);
  const wName = objectName(name, request.namespace);
  let handle: bigint;
  let error: number;
  try {
    handle = security
      ? w.k.symbols.CreateFileMappingSecured(WIN.INVALID_HANDLE_VALUE, security.buffer, protect, high, low, wName)
      : w.k.symbols.CreateFileMappingW(WIN.INVALID_HANDLE_VALUE, 0n, protect, high, low, wName);
    error = w.k.symbols.GetLastError();
  } finally {
    security?.free();
  }
  if (handle === 0n) {
    if (error === WIN.ERROR_ACCESS_DENIED && request.namespace === "global") {
      throw win32Error("CreateFileMappingW", error, name, undefined, undefined, GLOBAL_EACCES_HINT);
    }
    throw mappingError("CreateFileMappingW", error, name);
  }
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
  return trackNamedMapping(rawMapping(w, address, request.size, handle), name, request.namespace);
}

function unsafeSection(name: string, why: string): ShmError {
  return new ShmError({
    code: "EINVAL",
    errno: WIN.ERROR_INVALID_PARAMETER,
    syscall: "NtQuerySection",
    path: name,
    message: `The mapping '${name}' cannot be opened as a segment: ${why}`,
    hint: "Another program made this object; open only mappings made as shared memory",
  });
}

/**
 * Opens the mapping that holds the name — whoever made it: any process that
 * may create objects in the namespace can own it — and checks that it is
 * safe to hand out ({@link usableSize}). Read-only and private opens map
 * `FILE_MAP_COPY`, so a stray write lands in a private copy of the page
 * instead of faulting; Windows charges the view's whole size against the
 * commit limit for that, so such an open of a section larger than the free
 * commit fails (ENOSPC/ENOMEM).
 */
export function openWith(w: Kernel32, name: string, request: OpenRequest): RawMapping {
  const copy = request.readOnly || request.private;
  const access = WIN.SECTION_QUERY | (copy ? WIN.FILE_MAP_READ : WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE);
  const handle = w.k.symbols.OpenFileMappingW(access, 0, objectName(name, request.namespace));
  if (handle === 0n) throw mappingError("OpenFileMappingW", w.k.symbols.GetLastError(), name);
  const section = querySection(w, handle);
  const image = usableSize(section, { size: 0, committed: true });
  if ("refuse" in image) {
    w.k.symbols.CloseHandle(handle);
    throw unsafeSection(name, image.refuse);
  }
  const address = mapView(w, handle, copy ? WIN.FILE_MAP_COPY : WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE, 0, name);
  let usable: ReturnType<typeof usableSize>;
  try {
    usable = usableSize(section, queryRegion(w, address));
  } catch (error) {
    w.k.symbols.UnmapViewOfFile(address);
    w.k.symbols.CloseHandle(handle);
    throw error;
  }
  if ("refuse" in usable) {
    w.k.symbols.UnmapViewOfFile(address);
    w.k.symbols.CloseHandle(handle);
    throw unsafeSection(name, usable.refuse);
  }
  return trackNamedMapping(rawMapping(w, address, usable.size, handle), name, request.namespace);
}

function create(name: string, request: CreateRequest): RawMapping {
  return createWith(kernel32(), name, request);
}

function open(name: string, request: OpenRequest): RawMapping {
  return openWith(kernel32(), name, request);
}

function unlink(_name: string, _namespace: Namespace): void {
  // A Windows mapping vanishes with its last handle: there is no name to remove.
}

/** Named mappings through kernel32. */
export const windowsNamedBackend: NamedBackend = {
  nameRules: WINDOWS_NAME_RULES,
  maxSize: 2 ** 47,
  persistent: false,
  create,
  open,
  unlink,
};
