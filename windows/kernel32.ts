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
  // Processes (the Mutex's owner probe, process.ts).
  // DWORD GetCurrentProcessId(void);
  GetCurrentProcessId: { parameters: [], result: "u32" },
  // HANDLE OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId);
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  // BOOL GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode);
  GetExitCodeProcess: { parameters: ["pointer", "buffer"], result: "i32" },
  // BOOL GetProcessTimes(HANDLE hProcess, LPFILETIME lpCreationTime, LPFILETIME lpExitTime,
  //                      LPFILETIME lpKernelTime, LPFILETIME lpUserTime);
  GetProcessTimes: { parameters: ["pointer", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  // DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
  WaitForSingleObject: { parameters: ["pointer", "u32"], result: "u32" },
  // SIZE_T VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength);
  VirtualQuery: { parameters: ["pointer", "buffer", "usize"], result: "usize" },
  // Files (MappedFile). The HANDLE of CreateFileW may be INVALID_HANDLE_VALUE: `usize`.
  // HANDLE CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
  //                    LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
  //                    DWORD dwFlagsAndAttributes, HANDLE hTemplateFile);
  CreateFileW: { parameters: ["buffer", "u32", "u32", "pointer", "u32", "u32", "pointer"], result: "usize" },
  // The same CreateFileMappingW, for a file: lpName is NULL (an unnamed mapping).
  CreateFileMappingOfFile: {
    name: "CreateFileMappingW",
    parameters: ["pointer", "pointer", "u32", "u32", "u32", "pointer"],
    result: "pointer",
  },
  // DWORD GetFileType(HANDLE hFile);
  GetFileType: { parameters: ["pointer"], result: "u32" },
  // DWORD GetFileAttributesW(LPCWSTR lpFileName);
  GetFileAttributesW: { parameters: ["buffer"], result: "u32" },
  // BOOL GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize);
  GetFileSizeEx: { parameters: ["pointer", "buffer"], result: "i32" },
  // BOOL SetFilePointerEx(HANDLE hFile, LARGE_INTEGER liDistanceToMove, PLARGE_INTEGER lpNewFilePointer,
  //                       DWORD dwMoveMethod);
  SetFilePointerEx: { parameters: ["pointer", "i64", "pointer", "u32"], result: "i32" },
  // BOOL SetEndOfFile(HANDLE hFile);
  SetEndOfFile: { parameters: ["pointer"], result: "i32" },
  // BOOL FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush);
  FlushViewOfFile: { parameters: ["pointer", "usize"], result: "i32" },
  // BOOL FlushFileBuffers(HANDLE hFile);
  FlushFileBuffers: { parameters: ["pointer"], result: "i32" },
  // BOOL DeleteFileW(LPCWSTR lpFileName);
  DeleteFileW: { parameters: ["buffer"], result: "i32" },
  // Security (Segment.create's `sddl`): the same CreateFileMappingW with a SECURITY_ATTRIBUTES buffer.
  CreateFileMappingSecured: {
    name: "CreateFileMappingW",
    parameters: ["usize", "buffer", "u32", "u32", "u32", "buffer"],
    result: "pointer",
  },
  // HLOCAL LocalFree(HLOCAL hMem);
  LocalFree: { parameters: ["pointer"], result: "pointer" },
  // Waiting (windows/wait_kernel.ts): named semaphores per word, an event per group of async waits.
  // HANDLE CreateSemaphoreW(LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount,
  //                         LONG lMaximumCount, LPCWSTR lpName);
  CreateSemaphoreW: { parameters: ["pointer", "i32", "i32", "buffer"], result: "pointer" },
  // HANDLE OpenSemaphoreW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName);
  OpenSemaphoreW: { parameters: ["u32", "i32", "buffer"], result: "pointer" },
  // BOOL ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount);
  ReleaseSemaphore: { parameters: ["pointer", "i32", "pointer"], result: "i32" },
  // DWORD WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds);
  WaitForMultipleObjects: { parameters: ["u32", "pointer", "i32", "u32"], result: "u32" },
  // The same, on another thread (waitAsync).
  WaitForMultipleObjectsAsync: {
    name: "WaitForMultipleObjects",
    parameters: ["u32", "pointer", "i32", "u32"],
    result: "u32",
    nonblocking: true,
  },
  // HANDLE CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
  //                     LPCWSTR lpName);
  CreateEventW: { parameters: ["pointer", "i32", "i32", "pointer"], result: "pointer" },
  // BOOL SetEvent(HANDLE hEvent);
  SetEvent: { parameters: ["pointer"], result: "i32" },
  // HLOCAL LocalAlloc(UINT uFlags, SIZE_T uBytes);
  LocalAlloc: { parameters: ["u32", "usize"], result: "pointer" },
} as const satisfies SymbolTable;

/** advapi32.dll: SDDL strings to security descriptors. */
export const ADVAPI32 = {
  // BOOL ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor,
  //      DWORD StringSDRevision, PSECURITY_DESCRIPTOR *SecurityDescriptor, PULONG SecurityDescriptorSize);
  ConvertStringSecurityDescriptorToSecurityDescriptorW: {
    parameters: ["buffer", "u32", "buffer", "pointer"],
    result: "i32",
  },
} as const satisfies SymbolTable;

/** ntdll.dll: the exact size of a section (VirtualQuery only knows whole pages). */
export const NTDLL = {
  // NTSTATUS NtQuerySection(HANDLE SectionHandle, SECTION_INFORMATION_CLASS InformationClass,
  //                         PVOID InformationBuffer, SIZE_T InformationBufferSize, PSIZE_T ResultLength);
  // Not optional: Bun cannot dlopen a table of optional symbols only (ntdll always exports it).
  NtQuerySection: { parameters: ["pointer", "i32", "buffer", "usize", "pointer"], result: "i32" },
  // NTSTATUS NtQuerySemaphore(HANDLE SemaphoreHandle, SEMAPHORE_INFORMATION_CLASS SemaphoreInformationClass,
  //                           PVOID SemaphoreInformation, ULONG SemaphoreInformationLength, PULONG ReturnLength);
  NtQuerySemaphore: { parameters: ["pointer", "i32", "buffer", "u32", "pointer"], result: "i32" },
} as const satisfies SymbolTable;

/** Windows constants, as data. */
export const WIN = {
  INVALID_HANDLE_VALUE: (1n << 64n) - 1n,
  PAGE_READWRITE: 0x04,
  SEC_COMMIT: 0x8000000,
  /** A section of an executable image (refused by open(), as Chromium's IsSectionSafeToMap does). */
  SEC_IMAGE: 0x1000000,
  /** A section whose pages are committed later with VirtualAlloc (iceoryx2, .NET): only committed pages may be touched. */
  SEC_RESERVE: 0x4000000,
  /** MEMORY_BASIC_INFORMATION.State of committed pages. */
  MEM_COMMIT: 0x1000,
  SECTION_QUERY: 0x0001,
  FILE_MAP_COPY: 0x0001,
  FILE_MAP_WRITE: 0x0002,
  FILE_MAP_READ: 0x0004,
  ERROR_INVALID_HANDLE: 6,
  ERROR_ALREADY_EXISTS: 183,
  // Files (MappedFile).
  GENERIC_READ: 0x80000000,
  GENERIC_WRITE: 0x40000000,
  FILE_SHARE_READ: 0x1,
  FILE_SHARE_WRITE: 0x2,
  FILE_SHARE_DELETE: 0x4,
  CREATE_NEW: 1,
  OPEN_EXISTING: 3,
  FILE_ATTRIBUTE_NORMAL: 0x80,
  FILE_ATTRIBUTE_DIRECTORY: 0x10,
  INVALID_FILE_ATTRIBUTES: 0xffffffff,
  FILE_TYPE_DISK: 1,
  FILE_BEGIN: 0,
  PAGE_READONLY: 0x02,
  PAGE_WRITECOPY: 0x08,
  ERROR_FILE_NOT_FOUND: 2,
  ERROR_ACCESS_DENIED: 5,
  ERROR_FILE_EXISTS: 80,
  ERROR_FILE_INVALID: 1006,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_LOCK_VIOLATION: 33,
  /** SDDL_REVISION_1. */
  SDDL_REVISION_1: 1,
  /** sizeof(SECURITY_ATTRIBUTES) on 64-bit Windows: { DWORD nLength; LPVOID lpSecurityDescriptor @8; BOOL bInheritHandle @16; }. */
  SECURITY_ATTRIBUTES: { bytes: 24, descriptorOffset: 8, inheritOffset: 16 },
  /** The smallest unit FlushViewOfFile writes back (x64 and arm64 pages). */
  PAGE_SIZE: 4096,
  /** SectionBasicInformation: { PVOID BaseAddress @0; ULONG AllocationAttributes @8; LARGE_INTEGER MaximumSize @16; } */
  SECTION_BASIC_INFORMATION: { class: 0, bytes: 24, attributesOffset: 8, maximumSizeOffset: 16 },
  /**
   * MEMORY_BASIC_INFORMATION on 64-bit Windows: BaseAddress @0, AllocationBase @8,
   * AllocationProtect (DWORD) @16, PartitionId (WORD) @20, RegionSize (SIZE_T) @24,
   * State (DWORD) @32, Protect @36, Type @40; 48 bytes.
   */
  MEMORY_BASIC_INFORMATION: { bytes: 48, regionSizeOffset: 24, stateOffset: 32 },
  // Waiting.
  /** SEMAPHORE_ALL_ACCESS: wait (SYNCHRONIZE), release (SEMAPHORE_MODIFY_STATE) and query. */
  SEMAPHORE_ALL_ACCESS: 0x1f0003,
  /** The largest count a semaphore may hold (LONG's maximum). */
  SEMAPHORE_MAX: 0x7fffffff,
  /** SemaphoreBasicInformation: { LONG CurrentCount @0; LONG MaximumCount @4; } */
  SEMAPHORE_BASIC_INFORMATION: { class: 0, bytes: 8 },
  WAIT_OBJECT_0: 0,
  WAIT_TIMEOUT: 0x102,
  WAIT_FAILED: 0xffffffff,
  /** Most handles one WaitForMultipleObjects call takes (MAXIMUM_WAIT_OBJECTS). */
  MAXIMUM_WAIT_OBJECTS: 64,
  /** LocalAlloc: zero-filled fixed memory. */
  LPTR: 0x40,
} as const;

/** The loaded libraries. */
export interface Kernel32 {
  readonly k: Library<typeof KERNEL32>;
  readonly nt: Library<typeof NTDLL> | undefined;
  /** advapi32, loaded on first use (only `sddl` needs it). */
  advapi32(): Library<typeof ADVAPI32>;
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
  let advapi: Library<typeof ADVAPI32> | undefined;
  return loaded = { k, nt, advapi32: () => advapi ??= ffi.open(["advapi32.dll"], ADVAPI32) };
}
