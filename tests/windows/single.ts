// Windows child (run under Wine by tests/windows/suite.ts): everything one
// process can check about the Windows backend. It records what it observes,
// prints one line `RESULT <json>`, and exits 0; the suite holds the
// expectations. Crash-prone steps (touching views after close, writing through
// read-only opens) run here, so a crash shows as a failed exit code.
// Usage: single.ts
import { AnonymousSegment, MappedFile, Segment, ShmError, SysvSegment, uniqueName } from "../../mod.ts";
import { ffi } from "../../ffi/mod.ts";
import { WIN } from "../../windows/kernel32.ts";
import { processProbe } from "../../platform/mod.ts";
import { attempt, describe, exists, seen, w, wide } from "./record.ts";
import { foreignSections } from "./foreign.ts";

seen.platform = process.platform;
seen.ntQuerySection = w.nt?.symbols.NtQuerySection !== undefined;

// --- create, open in the same process, sizes ---------------------------------
{
  const name = uniqueName("shmw_");
  const seg = Segment.create(name, { size: 5000 });
  const peer = Segment.open(name);
  seg.bytes()[0] = 42;
  seg.bytes()[4999] = 43;
  seen.basic = {
    name: seg.name,
    size: seg.size,
    openedSize: peer.size,
    zeroFilled: peer.bytes().subarray(1, 4999).every((b) => b === 0),
    shared: [peer.bytes()[0], peer.bytes()[4999]],
    readOnly: [seg.readOnly, peer.readOnly],
  };
  // A page multiple comes back exactly.
  const paged = Segment.create(name + "p", { size: 65536 });
  const pagedPeer = Segment.open("/" + name + "p"); // a leading '/' is accepted
  seen.pagedSize = [paged.size, pagedPeer.size, pagedPeer.name];
  pagedPeer.close();
  paged.close();

  // --- EEXIST: the existing mapping is untouched and no handle leaks --------
  attempt("createExisting", () => Segment.create(name, { size: 4096 }));
  seen.afterEexist = seg.bytes()[0];

  // --- detached views after close; touching them must not crash -----------
  const bytes = seg.bytes();
  const words = seg.region(0, 64).array(Int32Array);
  const dv = seg.region(0, 16).view();
  const sub = bytes.subarray(10, 20);
  seg.close();
  seg.close(); // idempotent
  bytes[0] = 5; // ignored, no crash
  let dataView = "no throw";
  try {
    dv.getUint8(0);
  } catch (error) {
    dataView = (error as Error).name;
  }
  let atomics = "no throw";
  try {
    Atomics.add(words, 0, 1);
  } catch (error) {
    atomics = (error as Error).name;
  }
  seen.afterClose = {
    closed: seg.closed,
    lengths: [bytes.length, words.length, sub.length],
    reads: [String(bytes[0]), String(words[0]), String(sub[0])],
    dataView,
    atomics,
  };
  attempt("bytesAfterClose", () => seg.bytes());
  seen.stillOpenByPeer = exists(name);
  seen.peerStillReads = peer.bytes()[0];
  peer.close();
  // --- lifetime: the last handle closed, the name is gone -----------------
  seen.goneAfterLastClose = exists(name) === false;
  attempt("openMissing", () => Segment.open(name));
  // --- unlink is a no-op on Windows, for any valid name ----------------------
  attempt("unlinkMissing", () => Segment.unlink(name));
}

// --- unlink does not end a live segment -------------------------------------
{
  const name = uniqueName("shmw_");
  const seg = Segment.create(name, { size: 4096 });
  seg.unlink();
  Segment.unlink(name);
  seen.openAfterUnlink = exists(name);
  seg.close();
}

// --- read-only and private opens: copy-on-write, never a crash ---------------
{
  const name = uniqueName("shmw_");
  const seg = Segment.create(name, { size: 2 * 65536 });
  const ro = Segment.open(name, { readOnly: true });
  const priv = Segment.open(name, { private: true });
  seg.bytes()[0] = 1;
  const before = [ro.bytes()[0], priv.bytes()[0]]; // both follow the creator's writes
  ro.bytes()[0] = 7; // lands in a private copy of page 0
  priv.bytes()[1] = 8;
  ro.bytes().fill(9, 65536); // a whole other page
  seg.bytes()[2] = 3; // page 0 of ro is private now: it no longer sees this
  seg.bytes()[65536 + 2] = 4;
  seen.copyOnWrite = {
    flags: [ro.readOnly, priv.readOnly],
    before,
    roLocal: [ro.bytes()[0], ro.bytes()[65536]],
    privLocal: priv.bytes()[1],
    creatorSees: [seg.bytes()[0], seg.bytes()[1], seg.bytes()[65536]],
    roAfterCreatorWrite: [ro.bytes()[2], ro.bytes()[65536 + 2]],
    thirdOpenSees: (() => {
      const third = Segment.open(name, { readOnly: true });
      const b = [third.bytes()[0], third.bytes()[1], third.bytes()[65536]];
      third.close();
      return b;
    })(),
  };
  const roBytes = ro.bytes();
  ro.close();
  priv.close();
  roBytes[0] = 1; // detached: ignored
  seen.roAfterClose = roBytes.length;
  seg.close();
}

// --- bad input: rejected before any call, nothing left behind ---------------
{
  const name = uniqueName("shmw_");
  const bad: Record<string, () => unknown> = {
    backslash: () => Segment.create(`${name}\\x`, { size: 4096 }),
    backslashOpen: () => Segment.open(`a\\${name}`),
    prefixed: () => Segment.create(`Local\\${name}`, { size: 4096 }),
    slash: () => Segment.create(`${name}/x`, { size: 4096 }),
    empty: () => Segment.create("", { size: 4096 }),
    tooLong: () => Segment.create(name + "x".repeat(254 - name.length), { size: 4096 }),
    nul: () => Segment.create(`${name}\0`, { size: 4096 }),
    notString: () => Segment.create(42 as unknown as string, { size: 4096 }),
    sizeZero: () => Segment.create(name, { size: 0 }),
    sizeNegative: () => Segment.create(name, { size: -1 }),
    sizeFraction: () => Segment.create(name, { size: 1.5 }),
    sizeString: () => Segment.create(name, { size: "4096" as unknown as number }),
    sizeHuge: () => Segment.create(name, { size: 2 ** 48 }),
    noOptions: () => Segment.create(name, undefined as unknown as { size: number }),
    namespace: () => Segment.create(name, { size: 4096, namespace: "session" as "local" }),
    readOnlyType: () => Segment.open(name, { readOnly: 1 as unknown as boolean }),
  };
  const errors: Record<string, unknown> = {};
  for (const [label, fn] of Object.entries(bad)) {
    try {
      fn();
      errors[label] = "no error";
    } catch (error) {
      errors[label] = describe(error);
    }
  }
  seen.badInput = errors;
  seen.badInputLeftNothing = exists(name) === false && exists(`${name}x`) === false;
  // The longest name that fits: 260 UTF-16 units with "Global\" (7).
  const longest = name + "y".repeat(253 - name.length);
  attempt("longestName", () => {
    const seg = Segment.create(longest, { size: 4096 });
    const peer = Segment.open(longest);
    const sizes = [seg.name.length, peer.size];
    peer.close();
    seg.close();
    return sizes;
  });
}

// --- out of memory: CreateFileMappingW or MapViewOfFile fails; undone -------
{
  const name = uniqueName("shmw_");
  for (const [label, size] of [["huge64GiB", 2 ** 36], ["huge16TiB", 2 ** 44]] as const) {
    attempt(label, () => Segment.create(name, { size }).close());
    // A failed map after a successful CreateFileMappingW must close the handle:
    // the name is gone again.
    seen[`${label}LeftNothing`] = exists(name) === false;
  }
}

// --- namespaces: Local\ by default, Global\ on request, and separate --------
{
  const name = uniqueName("shmw_");
  attempt("global", () => {
    const seg = Segment.create(name, { size: 4096, namespace: "global" });
    seg.bytes()[0] = 6;
    const peer = Segment.open(name, { namespace: "global" });
    const result = { globalSees: peer.bytes()[0], localSees: exists(name, "local") };
    peer.close();
    seg.close();
    return result;
  });
  // The default namespace is Local\: a raw OpenFileMappingW of Local\<name>
  // and of the bare name (what Python's shared_memory passes) both find it.
  const seg = Segment.create(name, { size: 4096 });
  const raw = (full: string) => {
    const handle = w.k.symbols.OpenFileMappingW(WIN.FILE_MAP_READ, 0, wide(full)) as bigint;
    const error = w.k.symbols.GetLastError() as number;
    if (handle !== 0n) w.k.symbols.CloseHandle(handle);
    return handle !== 0n ? "found" : `error ${error}`;
  };
  seen.rawNames = { local: raw(`Local\\${name}`), bare: raw(name), global: raw(`Global\\${name}`) };
  seg.close();
}

// --- Python's shared_memory names: wnsm_<8 hex> -----------------------------
{
  const hex = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
  const name = `wnsm_${hex}`;
  const python = w.k.symbols.CreateFileMappingW(
    WIN.INVALID_HANDLE_VALUE,
    0n,
    WIN.PAGE_READWRITE,
    0,
    4096,
    wide(name), // Python passes the bare name
  ) as bigint;
  const view = w.k.symbols.MapViewOfFile(python, WIN.FILE_MAP_READ | WIN.FILE_MAP_WRITE, 0, 0, 4096) as bigint;
  const bytes = new Uint8Array(ffi.view(view, 4096));
  bytes.set([112, 121, 0, 255], 0); // "py\0\xff" at offset 0, no header
  attempt("python", () => {
    const seg = Segment.open(name);
    const result = { size: seg.size, bytes: Array.from(seg.bytes().subarray(0, 4)) };
    seg.bytes()[4] = 33;
    seg.close();
    return { ...result, pythonSees: bytes[4] };
  });
  attempt("pythonCreateExisting", () => Segment.create(name, { size: 4096 }));
  bytes.buffer.transfer(0);
  w.k.symbols.UnmapViewOfFile(view);
  w.k.symbols.CloseHandle(python);
  seen.pythonGone = exists(name) === false;
}

// --- access denied: a mapping whose DACL denies everyone --------------------
{
  const name = uniqueName("shmw_");
  const advapi = ffi.open(["advapi32.dll"], {
    // BOOL ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor,
    //   DWORD StringSDRevision, PSECURITY_DESCRIPTOR *SecurityDescriptor, PULONG SecurityDescriptorSize);
    ConvertStringSecurityDescriptorToSecurityDescriptorW: {
      parameters: ["buffer", "u32", "buffer", "pointer"],
      result: "i32",
    },
  });
  const secured = ffi.open(["kernel32.dll"], {
    // HANDLE CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes, DWORD flProtect,
    //                           DWORD dwMaximumSizeHigh, DWORD dwMaximumSizeLow, LPCWSTR lpName);
    CreateFileMappingW: { parameters: ["usize", "buffer", "u32", "u32", "u32", "buffer"], result: "pointer" },
    // HLOCAL LocalFree(HLOCAL hMem);
    LocalFree: { parameters: ["pointer"], result: "pointer" },
  });
  const descriptor = new BigUint64Array(1);
  // "D:(D;;GA;;;WD)": a DACL with one ACE, deny GENERIC_ALL to Everyone.
  advapi.symbols.ConvertStringSecurityDescriptorToSecurityDescriptorW(wide("D:(D;;GA;;;WD)"), 1, descriptor, 0n);
  const attributes = new DataView(new ArrayBuffer(24)); // SECURITY_ATTRIBUTES on 64-bit Windows
  attributes.setUint32(0, 24, true); // nLength
  attributes.setBigUint64(8, descriptor[0], true); // lpSecurityDescriptor
  const handle = secured.symbols.CreateFileMappingW(
    WIN.INVALID_HANDLE_VALUE,
    new Uint8Array(attributes.buffer),
    WIN.PAGE_READWRITE,
    0,
    4096,
    wide(`Local\\${name}`),
  ) as bigint;
  secured.symbols.LocalFree(descriptor[0]);
  seen.deniedCreated = handle !== 0n;
  attempt("deniedOpen", () => Segment.open(name).close());
  attempt("deniedOpenReadOnly", () => Segment.open(name, { readOnly: true }).close());
  attempt("deniedCreate", () => Segment.create(name, { size: 4096 }).close());
  w.k.symbols.CloseHandle(handle);
  seen.deniedGone = exists(name) === false;
}

// --- names beyond ASCII are UTF-16 on Windows --------------------------------
{
  const name = uniqueName("shmw_ü€😀_");
  attempt("unicodeName", () => {
    const seg = Segment.create(name, { size: 4096 });
    seg.bytes()[0] = 5;
    const peer = Segment.open(name);
    const handle = w.k.symbols.OpenFileMappingW(WIN.FILE_MAP_READ, 0, wide(`Local\\${name}`)) as bigint;
    if (handle !== 0n) w.k.symbols.CloseHandle(handle);
    const result = { peerSees: peer.bytes()[0], rawFound: handle !== 0n };
    peer.close();
    seg.close();
    return result;
  });
}

// --- a name taken by another kind of kernel object (an event) ---------------
{
  const name = uniqueName("shmw_");
  const events = ffi.open(["kernel32.dll"], {
    // HANDLE CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName);
    CreateEventW: { parameters: ["pointer", "i32", "i32", "buffer"], result: "pointer" },
  });
  const event = events.symbols.CreateEventW(0n, 0, 0, wide(`Local\\${name}`)) as bigint;
  attempt("eventCreate", () => Segment.create(name, { size: 4096 }));
  attempt("eventOpen", () => Segment.open(name));
  w.k.symbols.CloseHandle(event);
}

// --- POSIX-only options and kinds: harmless or a clear ERR_UNSUPPORTED -----
{
  const name = uniqueName("shmw_");
  attempt("posixOptions", () => {
    const seg = Segment.create(name, { size: 4096, mode: 0o644, reserve: false, track: false, unlinkOnExit: true });
    const size = seg.size;
    seg.close();
    return { size, gone: exists(name) === false };
  });
  attempt("list", () => Segment.list());
  attempt("collect", () => Segment.collect());
  attempt("sysv", () => SysvSegment.create({ size: 4096 }));
  attempt("anonymous", () => AnonymousSegment.create({ size: 4096 }));
  attempt("mappedFile", () => MappedFile.open("Z:\\tmp\\shmem-no-such-file"));
}

// --- foreign sections: SEC_RESERVE limited to what is committed, SEC_IMAGE refused ---
foreignSections();

// --- create() never attaches to an existing mapping: ERROR_ALREADY_EXISTS survives the runtime ---
{
  const name = uniqueName("shmw_");
  const first = Segment.create(name, { size: 4096 });
  first.bytes()[0] = 21;
  const codes: Record<string, number> = {};
  let garbage: unknown[] = [];
  const tries = 3000;
  for (let i = 0; i < tries; i++) {
    // Allocation between attempts, so the runtime's GC and JIT run Win32 code too.
    garbage.push({ i, s: `x${i}`.repeat(8), a: new Uint8Array(256) });
    if (garbage.length > 200) garbage = [];
    try {
      Segment.create(name, { size: 4096 }).close();
      codes.created = (codes.created ?? 0) + 1;
    } catch (error) {
      const code = error instanceof ShmError ? `${error.code}/${error.errno}` : String(error);
      codes[code] = (codes[code] ?? 0) + 1;
    }
  }
  seen.collisions = { tries, codes, untouched: first.bytes()[0] };
  first.close();
}

// --- sddl: an explicit security descriptor ---------------------------------
{
  const open = uniqueName("shmw_");
  attempt("sddlEveryone", () => {
    const seg = Segment.create(open, { size: 4096, sddl: "D:P(A;;GA;;;WD)" });
    seg.bytes()[0] = 3;
    const peer = Segment.open(open);
    const result = peer.bytes()[0];
    peer.close();
    seg.close();
    return result;
  });
  const closed = uniqueName("shmw_");
  attempt("sddlNobody", () => {
    // A protected, empty DACL: no one may open it, though the creator's own handle works.
    const seg = Segment.create(closed, { size: 4096, sddl: "D:P" });
    seg.bytes()[0] = 4;
    let other: unknown;
    try {
      Segment.open(closed).close();
      other = "opened";
    } catch (error) {
      other = error instanceof ShmError ? `${error.code}/${error.errno}` : String(error);
    }
    const result = { creatorSees: seg.bytes()[0], other };
    seg.close();
    return result;
  });
  const bad = uniqueName("shmw_");
  attempt("sddlInvalid", () => Segment.create(bad, { size: 4096, sddl: "not an SDDL string" }));
  seen.sddlInvalidLeftNothing = exists(bad) === false;
  attempt("sddlType", () => Segment.create(bad, { size: 4096, sddl: 5 as unknown as string }));
}

// --- the Mutex's process probe: this process has a real start time in every runtime ---
{
  const probe = processProbe();
  const me = probe.self();
  seen.probe = {
    startNonzero: me.start > 0,
    pidTimesFour: me.pid * 4 === (globalThis as { process?: { pid?: number } }).process?.pid,
    aliveSelf: probe.alive(me.pid, me.start),
    aliveOtherStart: probe.alive(me.pid, (me.start + 1) % 2 ** 42),
    aliveNoSuchPid: probe.alive(0x3ffffe, 1),
  };
}

console.log("RESULT " + JSON.stringify(seen));
