// Foreign sections, checked by tests/windows/single.ts in the same process:
// a SEC_RESERVE section is limited to what is committed, a SEC_IMAGE section
// is refused.
import { Segment, uniqueName } from "../../mod.ts";
import { ffi } from "../../ffi/mod.ts";
import { WIN } from "../../windows/kernel32.ts";
import { attempt, seen, w, wide } from "./record.ts";

/** Records what opening foreign sections gives. */
export function foreignSections(): void {
  const raw = ffi.open(["kernel32.dll"], {
    // HANDLE CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes, DWORD flProtect,
    //                           DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCWSTR lpName);
    CreateFileMappingW: { parameters: ["usize", "pointer", "u32", "u32", "u32", "buffer"], result: "pointer" },
    // LPVOID VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType, DWORD flProtect);
    VirtualAlloc: { parameters: ["pointer", "usize", "u32", "u32"], result: "pointer" },
    // HANDLE CreateFileW(LPCWSTR, DWORD, DWORD, LPSECURITY_ATTRIBUTES, DWORD, DWORD, HANDLE);
    CreateFileW: { parameters: ["buffer", "u32", "u32", "pointer", "u32", "u32", "pointer"], result: "usize" },
  }).symbols;
  // A 1 MiB SEC_RESERVE section, as iceoryx2 and .NET make them, with only its first 64 KiB committed.
  const name = uniqueName("shmw_");
  const section = raw.CreateFileMappingW(
    WIN.INVALID_HANDLE_VALUE,
    0n,
    WIN.PAGE_READWRITE | WIN.SEC_RESERVE,
    0,
    1 << 20,
    wide(`Local\\${name}`),
  ) as bigint;
  const view = w.k.symbols.MapViewOfFile(section, WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE, 0, 0, 0) as bigint;
  const committed = raw.VirtualAlloc(view, 65536, WIN.MEM_COMMIT, WIN.PAGE_READWRITE) as bigint;
  seen.reserveCommitted = section !== 0n && view !== 0n && committed === view;
  if (seen.reserveCommitted) {
    const bytes = new Uint8Array(ffi.view(view, 65536));
    bytes[0] = 77;
    bytes[65535] = 78;
  }
  for (const [label, options] of [["reserveOpen", {}], ["reserveReadOnly", { readOnly: true }]] as const) {
    attempt(label, () => {
      const seg = Segment.open(name, options);
      const all = seg.bytes();
      let sum = 0;
      for (let i = 0; i < all.length; i++) sum += all[i]; // touches every byte handed out
      const result = { size: seg.size, first: all[0], last: all[all.length - 1], sum };
      seg.close();
      return result;
    });
  }
  w.k.symbols.UnmapViewOfFile(view);
  w.k.symbols.CloseHandle(section);

  // The same with nothing committed: refused, not handed out.
  const empty = uniqueName("shmw_");
  const bare = raw.CreateFileMappingW(
    WIN.INVALID_HANDLE_VALUE,
    0n,
    WIN.PAGE_READWRITE | WIN.SEC_RESERVE,
    0,
    1 << 20,
    wide(`Local\\${empty}`),
  ) as bigint;
  attempt("reserveNothingCommitted", () => Segment.open(empty));
  w.k.symbols.CloseHandle(bare);

  // An image section of a DLL: never shared memory.
  const image = uniqueName("shmw_");
  const file = BigInt(
    raw.CreateFileW(
      wide("C:\\windows\\system32\\kernel32.dll"),
      WIN.GENERIC_READ,
      WIN.FILE_SHARE_READ,
      0n,
      WIN.OPEN_EXISTING,
      0,
      0n,
    ) as number | bigint,
  );
  const imageSection = file === WIN.INVALID_HANDLE_VALUE
    ? 0n
    : raw.CreateFileMappingW(file, 0n, WIN.PAGE_READONLY | WIN.SEC_IMAGE, 0, 0, wide(`Local\\${image}`)) as bigint;
  seen.imageCreated = imageSection !== 0n;
  attempt("imageOpen", () => Segment.open(image));
  attempt("imageOpenReadOnly", () => Segment.open(image, { readOnly: true }));
  if (imageSection !== 0n) w.k.symbols.CloseHandle(imageSection);
  if (file !== WIN.INVALID_HANDLE_VALUE) w.k.symbols.CloseHandle(file);
}
