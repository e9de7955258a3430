/**
 * The kernel32 (and one ntdll) functions the Windows backend calls, as data,
 * and their loader. Each entry quotes its C prototype. HANDLE parameters that
 * may be INVALID_HANDLE_VALUE are declared `usize` so the all-ones value
 * crosses every runtime exactly.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { Library, SymbolTable } from "../ffi/mod.ts";

/** kernel32.dll. */
export const KERNEL32 = {
  // HANDLE CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes, DWORD flProtect,
  //                           DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCWSTR lpName);
  CreateFileMappingW: { parameters: ["usize", "pointer", "u32", "u32", "u32", "buffer"], result: "pointer" },
  // HANDLE OpenFileMappingW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName);
  OpenFileMappingW: { parameters: ["u32", "i32", "buffer"], result: "pointer" },
  // LPVOID MapViewOfFile(HANDLE hFileMappingObject, DWORD dwDesiredAccess, DWORD dwFileOffsetHigh,
  //                      DWORD dwFileOffsetLow, SIZE_T dwNumberOfBytesToMap);
  MapViewOfFile: { parameters: ["pointer", "u32", "u32", "u32", "usize"], result: "pointer" },
  // BOOL UnmapViewOfFile(LPCVOID lpBaseAddress);
  UnmapViewOfFile: { parameters: ["pointer"], result: "i32" },
  // BOOL CloseHandle(HANDLE hObject);
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  // DWORD GetLastError(void);
  GetLastError: { parameters: [], result: "u32" },
  // SIZE_T VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength);
  VirtualQuery: { parameters: ["pointer", "buffer", "usize"], result: "usize" },
} as const satisfies SymbolTable;

/** ntdll.dll: the exact size of a section (VirtualQuery only knows whole pages). */
export const NTDLL = {
  // NTSTATUS NtQuerySection(HANDLE SectionHandle, SECTION_INFORMATION_CLASS InformationClass,
  //                         PVOID InformationBuffer, SIZE_T InformationBufferSize, PSIZE_T ResultLength);
  NtQuerySection: { parameters: ["pointer", "i32", "buffer", "usize", "pointer"], result: "i32", optional: true },
} as const satisfies SymbolTable;

/** Windows constants, as data. */
export const WIN = {
  INVALID_HANDLE_VALUE: (1n << 64n) - 1n,
  PAGE_READWRITE: 0x04,
  SEC_COMMIT: 0x8000000,
  SECTION_QUERY: 0x0001,
  FILE_MAP_COPY: 0x0001,
  FILE_MAP_WRITE: 0x0002,
  FILE_MAP_READ: 0x0004,
  ERROR_ALREADY_EXISTS: 183,
  /** SectionBasicInformation: { PVOID BaseAddress; ULONG AllocationAttributes; LARGE_INTEGER MaximumSize; } */
  SECTION_BASIC_INFORMATION: { class: 0, bytes: 24, maximumSizeOffset: 16 },
  /** MEMORY_BASIC_INFORMATION on 64-bit Windows: RegionSize is a SIZE_T at byte 24. */
  MEMORY_BASIC_INFORMATION: { bytes: 48, regionSizeOffset: 24 },
} as const;

/** The loaded libraries. */
export interface Kernel32 {
  readonly k: Library<typeof KERNEL32>;
  readonly nt: Library<typeof NTDLL> | undefined;
}

let loaded: Kernel32 | undefined;

/** Loads kernel32 (and ntdll when it opens) once. */
export function kernel32(): Kernel32 {
  if (loaded) return loaded;
  const k = ffi.open(["kernel32.dll"], KERNEL32);
  let nt: Library<typeof NTDLL> | undefined;
  try {
    nt = ffi.open(["ntdll.dll"], NTDLL);
  } catch {
    nt = undefined;
  }
  return loaded = { k, nt };
}
