// The Windows suite: runs the children in tests/windows/ on the Windows builds
// of Bun, Deno, Node 24 and Node 22 (our floor) under Wine, and checks what
// they saw. Run once, from Linux, by `npm run test:wine` (part of `npm test`).
//
// Needs the Wine setup (tools/wine/setup.sh). Without it every test is skipped
// with the reason; with SHMEM_REQUIRE_WINE=1 (set by CI) they fail instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uniqueName } from "../../mod.ts";
import { error, ok, outcome, RUNTIMES, runWin, skip } from "./wine.ts";
import type { WinRuntime } from "./wine.ts";
import "./wake_suite.ts";
import "./services_suite.ts";

for (const runtime of RUNTIMES) {
  test(`Windows ${runtime}: one process (tests/windows/single.ts)`, { skip }, async () => {
    const seen = ok(await runWin(runtime, "single.ts"), `single.ts on ${runtime}`);
    assert.equal(seen.platform, "win32");
    const basic = seen.basic as Record<string, unknown>;
    assert.equal(basic.size, 5000);
    // An opened mapping's size is the section's: exact on Windows, rounded up
    // to the page (4096) by Wine 8.
    assert.ok([5000, 8192].includes(basic.openedSize as number), `opened size ${basic.openedSize}`);
    // A page multiple comes back exactly; a leading '/' is stripped.
    assert.deepEqual(seen.pagedSize, [65536, 65536, `${basic.name}p`]);
    assert.equal(basic.zeroFilled, true);
    assert.deepEqual(basic.shared, [42, 43]);
    assert.deepEqual(basic.readOnly, [false, false]);

    // EEXIST with the Win32 error kept, and the existing mapping untouched.
    assert.deepEqual(outcome(seen, "createExisting"), error("EEXIST", 183, "CreateFileMappingW"));
    assert.equal(seen.afterEexist, 42);
    // Views after close are detached; touching them did not crash.
    assert.deepEqual(seen.afterClose, {
      closed: true,
      lengths: [0, 0, 0],
      reads: ["undefined", "undefined", "undefined"],
      dataView: "TypeError",
      atomics: "TypeError",
    });
    assert.deepEqual(outcome(seen, "bytesAfterClose"), {
      error: { class: "ShmError", code: "ERR_USE_AFTER_CLOSE", errno: 0 },
    });
    // Lifetime: alive while any handle is open, gone with the last one.
    assert.equal(seen.stillOpenByPeer, true);
    assert.equal(seen.peerStillReads, 42);
    assert.equal(seen.goneAfterLastClose, true);
    assert.deepEqual(outcome(seen, "openMissing"), error("ENOENT", 2, "OpenFileMappingW"));
    // unlink is a documented no-op.
    assert.deepEqual(seen.unlinkMissing, { ok: true });
    assert.equal(seen.openAfterUnlink, true);

    // Read-only and private opens are copy-on-write (FILE_MAP_COPY).
    assert.deepEqual(seen.copyOnWrite, {
      flags: [true, true],
      before: [1, 1], // they follow the creator's writes until they write themselves
      roLocal: [7, 9],
      privLocal: 8,
      creatorSees: [1, 0, 0], // ...and their writes never reach the shared memory
      roAfterCreatorWrite: [0, 9], // a page they wrote is their own from then on
      thirdOpenSees: [1, 0, 0],
    });
    assert.equal(seen.roAfterClose, 0);

    // Bad input: the right error class before any call, nothing left behind.
    const bad = seen.badInput as Record<string, { class: string; message: string }>;
    const expected: Record<string, [string, RegExp]> = {
      backslash: ["RangeError", /must not contain '\\'/],
      backslashOpen: ["RangeError", /must not contain '\\'/],
      prefixed: ["RangeError", /must not contain '\\'.*Local\\\\shmw_/],
      slash: ["RangeError", /must not contain '\/'/],
      empty: ["RangeError", /must not be empty/],
      tooLong: ["RangeError", /too long for Windows: 261 UTF-16 units/],
      nul: ["RangeError", /must not contain NUL/],
      notString: ["TypeError", /must be a string, got number/],
      sizeZero: ["RangeError", /positive integer, got 0/],
      sizeNegative: ["RangeError", /positive integer, got -1/],
      sizeFraction: ["RangeError", /positive integer, got 1\.5/],
      sizeString: ["TypeError", /number of bytes, got string/],
      sizeHuge: ["RangeError", /281474976710656 is more than this platform can map/],
      noOptions: ["TypeError", /got nothing/],
      namespace: ["TypeError", /"local" or "global", got "session"/],
      readOnlyType: ["TypeError", /'readOnly' must be a boolean/],
    };
    assert.deepEqual(Object.keys(bad).sort(), Object.keys(expected).sort());
    for (const [label, [kind, message]] of Object.entries(expected)) {
      assert.equal(bad[label].class, kind, `${label}: ${JSON.stringify(bad[label])}`);
      assert.match(bad[label].message, message, label);
    }
    assert.equal(seen.badInputLeftNothing, true);
    assert.deepEqual(seen.longestName, { ok: [253, 4096] });

    // Out of memory, from either call; a failed MapViewOfFile closes the handle.
    for (const label of ["huge64GiB", "huge16TiB"]) {
      const e = (seen[label] as { error?: { code: string; errno: number } }).error;
      assert.ok(e && ["ENOMEM", "ENOSPC"].includes(e.code), `${label}: ${JSON.stringify(seen[label])}`);
      assert.ok([8, 14, 112, 1455].includes(e.errno), `${label}: ${JSON.stringify(seen[label])}`);
      assert.equal(seen[`${label}LeftNothing`], true, `${label} left its name behind`);
    }

    // Namespaces: Local\ by default (the bare name is the same object), Global\ apart.
    assert.deepEqual(seen.global, { ok: { globalSees: 6, localSees: false } });
    assert.deepEqual(seen.rawNames, { local: "found", bare: "found", global: "error 2" });

    // Python's `wnsm_...` mappings open like any other, bytes at offset 0.
    assert.deepEqual(seen.python, { ok: { size: 4096, bytes: [112, 121, 0, 255], pythonSees: 33 } });
    assert.deepEqual(outcome(seen, "pythonCreateExisting"), error("EEXIST", 183, "CreateFileMappingW"));
    assert.equal(seen.pythonGone, true);

    // Access denied (a DACL that denies everyone) is EACCES with the Win32 5,
    // for open, read-only open and create alike; nothing is left open.
    assert.equal(seen.deniedCreated, true);
    assert.deepEqual(outcome(seen, "deniedOpen"), error("EACCES", 5, "OpenFileMappingW"));
    assert.deepEqual(outcome(seen, "deniedOpenReadOnly"), error("EACCES", 5, "OpenFileMappingW"));
    assert.deepEqual(outcome(seen, "deniedCreate"), error("EACCES", 5, "CreateFileMappingW"));
    assert.equal(seen.deniedGone, true);
    // Names beyond ASCII.
    assert.deepEqual(seen.unicodeName, { ok: { peerSees: 5, rawFound: true } });

    // POSIX-only options are accepted and harmless; POSIX-only features say so.
    assert.deepEqual(seen.posixOptions, { ok: { size: 4096, gone: true } });
    assert.deepEqual(seen.collect, { ok: [] });
    const unsupported = { error: { class: "ShmError", code: "ERR_UNSUPPORTED", errno: 0 } };
    for (const label of ["list", "sysv", "anonymous"]) {
      assert.deepEqual(outcome(seen, label), unsupported, label);
    }
    assert.deepEqual(outcome(seen, "mappedFile"), error("ENOENT", 2, "CreateFileW"));

    // A name held by an event: "exists" to create, "no segment" to open.
    assert.deepEqual(outcome(seen, "eventCreate"), error("EEXIST", 6, "CreateFileMappingW"));
    assert.deepEqual(outcome(seen, "eventOpen"), error("ENOENT", 6, "OpenFileMappingW"));

    // A foreign SEC_RESERVE section: only its committed 64 KiB is handed out, and
    // touching every byte does not crash; with nothing committed, and for a
    // SEC_IMAGE section, open() refuses.
    assert.equal(seen.reserveCommitted, true);
    const reserved = { ok: { size: 65536, first: 77, last: 78, sum: 155 } };
    assert.deepEqual(seen.reserveOpen, reserved);
    assert.deepEqual(seen.reserveReadOnly, reserved);
    const refused = error("EINVAL", 87, "NtQuerySection");
    assert.deepEqual(outcome(seen, "reserveNothingCommitted"), refused);
    assert.equal(seen.imageCreated, true);
    assert.deepEqual(outcome(seen, "imageOpen"), refused);
    assert.deepEqual(outcome(seen, "imageOpenReadOnly"), refused);
    // create() never attaches: every colliding create saw ERROR_ALREADY_EXISTS.
    assert.deepEqual(seen.collisions, { tries: 3000, codes: { "EEXIST/183": 3000 }, untouched: 21 });
    // sddl: an explicit descriptor; a bad one fails before anything exists.
    assert.deepEqual(seen.sddlEveryone, { ok: 3 });
    assert.deepEqual(seen.sddlNobody, { ok: { creatorSees: 4, other: "EACCES/5" } });
    assert.deepEqual(
      outcome(seen, "sddlInvalid"),
      error("EINVAL", 87, "ConvertStringSecurityDescriptorToSecurityDescriptorW"),
    );
    assert.equal(seen.sddlInvalidLeftNothing, true);
    assert.equal((seen.sddlType as { error: { class: string } }).error.class, "TypeError");
    // The Mutex's probe knows this process's start time in every runtime (Bun once lost it).
    assert.deepEqual(seen.probe, {
      startNonzero: true,
      pidTimesFour: true,
      aliveSelf: true,
      aliveOtherStart: false,
      aliveNoSuchPid: false,
    });
  });
}

for (const runtime of RUNTIMES) {
  test(`Windows ${runtime}: MappedFile in one process (tests/windows/file.ts)`, { skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "shmem-wine-file-"));
    try {
      const seen = ok(await runWin(runtime, "file.ts", [dir]), `file.ts on ${runtime}`);
      // Created and grown to size; writes are the file's bytes, seen by plain
      // reads at once and on disk after flush and close; views detach on close.
      assert.deepEqual(seen.create, {
        ok: {
          path: `${dir}/new.bin`,
          size: 10000,
          readOnly: false,
          fileSize: 10000,
          zeroFilled: true,
          readBeforeFlush: [1, 2, 3],
          flushErrors: ["RangeError", "RangeError"],
          afterClose: [0, 0, "undefined", true],
          flushAfterClose: "ERR_USE_AFTER_CLOSE",
          disk: [10000, 0, 1, 2, 3, 0, 4],
        },
      });
      const disk = readFileSync(join(dir, "new.bin")); // and Linux sees the same file
      assert.deepEqual([disk.length, ...disk.subarray(5000, 5003), disk[9999]], [10000, 1, 2, 3, 4]);
      // Z:\... with backslashes, Linux-style forward slashes and non-ASCII names all work.
      assert.deepEqual(seen.paths, { ok: { driveSize: 4, sharedSees: 9, unicode: [4096, 7] } });
      assert.equal(readFileSync(join(dir, "ü€😀.bin"))[1], 7);
      assert.deepEqual(seen.existing, {
        ok: { whole: [3, 9, 8, 7], grown: [8192, 8192, 9, 8, 7, 0], part: [2, 8192], createExisting: [8192, 9] },
      });
      // Private and read-only maps are copy-on-write: their writes never reach the file.
      assert.deepEqual(seen.copyOnWrite, {
        ok: {
          flags: [false, true, true],
          local: [50, 60],
          sharedSees: [1, 1],
          copiesFollow: [7, 7],
          roAfterClose: 0,
          disk: [1, 1, 7, 8192],
        },
      });
      // Windows refuses to truncate a mapped file (no SIGBUS as on POSIX).
      assert.deepEqual(seen.truncateWhileMapped, {
        ok: { refused: true, sizeAfter: 8192, lastByte: 1, afterClose: 0 },
      });
      // Errors: errno codes, with the Win32 number kept.
      const errors: Record<string, ReturnType<typeof error>> = {
        empty: error("EINVAL", 1006, "CreateFileMappingW"),
        emptyReadOnly: error("EINVAL", 1006, "CreateFileMappingW"),
        createEmpty: error("EINVAL", 1006, "CreateFileMappingW"),
        directory: error("EISDIR", 5, "CreateFileW"),
        directoryReadOnly: error("EISDIR", 5, "CreateFileW"),
        directoryCreate: error("EISDIR", 5, "CreateFileW"),
        missing: error("ENOENT", 2, "CreateFileW"),
        missingFolder: error("ENOENT", 3, "CreateFileW"),
        shortReadOnly: error("EINVAL", 87, "CreateFileMappingW"),
        shortPrivate: error("EINVAL", 87, "CreateFileMappingW"),
        device: error("EINVAL", 1006, "GetFileType"),
        sharingViolation: error("EBUSY", 32, "CreateFileW"),
      };
      for (const [label, expected] of Object.entries(errors)) assert.deepEqual(seen[label], expected, label);
      assert.equal(seen.createEmptyLeft, false, "a file created by a failed open was left behind");
      assert.deepEqual(seen.untouched, [0, 3]);
      assert.equal(seen.sharingViolationLength, 3);
      // Failures after growing the file undo it: deleted when created, shrunk back when grown.
      for (const label of ["createHuge", "growHuge"]) {
        const e = (seen[label] as { error?: { class: string; code: string } }).error;
        assert.ok(
          e?.class === "ShmError" && ["ENOMEM", "ENOSPC", "EINVAL"].includes(e.code),
          JSON.stringify(seen[label]),
        );
      }
      assert.equal(seen.createHugeLeft, false);
      assert.equal(seen.growHugeLength, 3);
      assert.deepEqual(seen.badInput, {
        notString: "TypeError",
        empty: "RangeError",
        nul: "RangeError",
        sizeZero: "RangeError",
        sizeHuge: "RangeError",
        createReadOnly: "RangeError",
        createType: "TypeError",
      });
      assert.equal(seen.badInputLeft, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Every runtime creates once and opens once, always with another runtime.
const FILE_SIZE = 65536 + 100; // as in peer.ts
const PAIRS: [WinRuntime, WinRuntime][] = [["bun", "deno"], ["deno", "node"], ["node", "node22"], ["node22", "bun"]];
for (const [writer, reader] of PAIRS) {
  test(`Windows ${writer} creates, ${reader} opens: two processes, one mapping`, { skip }, async () => {
    const name = uniqueName("shmw_");
    const dir = mkdtempSync(join(tmpdir(), "shmem-wine-peer-"));
    const file = `${dir}/shared.bin`;
    const [w, r] = await Promise.all([
      runWin(writer, "peer.ts", ["writer", name, file]),
      runWin(reader, "peer.ts", ["reader", name, file]),
    ]);
    const disk = readFileSync(file);
    rmSync(dir, { recursive: true, force: true });
    const ws = ok(w, `writer (${writer})`);
    const rs = ok(r, `reader (${reader})`);
    assert.equal(rs.writerReady, true);
    assert.ok([3 * 65536 + 100, 3 * 65536 + 4096].includes(rs.size as number), `reader saw size ${rs.size}`);
    assert.equal(rs.writerBytes, -1, "the writer's bytes arrived");
    assert.equal(rs.readOnlyLocal, 0xee);
    assert.equal(ws.readerAnswered, true);
    assert.equal(ws.readerAdds, 10_000);
    assert.equal(ws.counter, 2000, "a Mutex shared by both kept every locked increment");
    assert.equal(ws.readerBytes, -1, "the reader's bytes arrived");
    assert.equal(ws.readOnlyWriteLeaked, false, "a write through a read-only open reached the writer");
    assert.match(ws.readerRuntime as string, new RegExp(`^${reader === "node22" ? "node 22" : reader}`));
    assert.equal(ws.viewAfterClose, 0);
    assert.equal(rs.goneAfterWriterClosed, true, "the name outlived its last handle");
    // Both processes map one file: a plain read in the other process sees the
    // writer's unflushed bytes, each sees the other's writes, and Windows
    // refuses to truncate the file while it is mapped.
    assert.equal(rs.fileReadSees, -1, "the reader's plain read of the file missed the writer's bytes");
    assert.equal(rs.fileSize, FILE_SIZE);
    assert.equal(rs.fileMapSees, -1);
    assert.equal(rs.fileTruncateRefused, true);
    assert.equal(ws.fileReaderBytes, -1, "the reader's writes to the file did not reach the writer's mapping");
    assert.equal(disk.length, FILE_SIZE);
    const half = FILE_SIZE / 2;
    const wrong = disk.findIndex((b, i) => b !== (i * 7 + (i < half ? 3 : 4)) % 256);
    assert.equal(wrong, -1, "the file on disk holds both processes' bytes");
  });
}

// A holder that dies holding the Mutex (TerminateProcess: nothing of it runs
// afterwards) is recovered by a locker in another runtime, told "owner-died".
// Exit code 259 is STILL_ACTIVE: an owner that ends with it must still count as dead.
const OWNER_PAIRS: [WinRuntime, WinRuntime, number][] = [["bun", "node", 259], ["node22", "deno", 9], [
  "deno",
  "bun",
  259,
]];
for (const [holder, locker, exitCode] of OWNER_PAIRS) {
  test(`Windows ${holder} dies (exit ${exitCode}) holding a Mutex, ${locker} recovers it`, { skip }, async () => {
    const name = uniqueName("shmw_");
    const [l, h] = await Promise.all([
      runWin(locker, "owner.ts", ["locker", name]),
      runWin(holder, "owner.ts", ["holder", name, String(exitCode)]),
    ]);
    assert.notEqual(h.status, 0, `the holder (${holder}) should have been terminated:\n${h.output}`);
    assert.deepEqual(ok(l, `locker (${locker})`), {
      holderLocked: true,
      heldHolderHandle: true,
      busyWhileHeld: "busy",
      outcome: "owner-died",
      relocked: true,
    });
  });
}

// A Channel between two Windows runtimes: every message in order, intact, and
// the sender's close wakes the receiver once it has drained them.
const CHANNEL_PAIRS: [WinRuntime, WinRuntime][] = [["deno", "bun"], ["node", "node22"]];
for (const [sender, receiver] of CHANNEL_PAIRS) {
  test(`Windows ${sender} sends 100,000 messages over a Channel to ${receiver}`, { skip }, async () => {
    const name = uniqueName("shmw_");
    const [r, s] = await Promise.all([
      runWin(receiver, "channel.ts", ["receiver", name, "100000"]),
      runWin(sender, "channel.ts", ["sender", name, "100000"]),
    ]);
    assert.deepEqual(ok(s, `sender (${sender})`), { sent: 100_000 });
    assert.deepEqual(ok(r, `receiver (${receiver})`), { received: 100_000, problem: "", closed: true });
  });
}
