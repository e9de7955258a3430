// Windows child (run under Wine by tests/windows/suite.ts): MappedFile in one
// process. It records what it observes, prints one line `RESULT <json>`, and
// exits 0; the suite holds the expectations. Crash-prone steps (views after
// close, writes through read-only and private maps) run here, so a crash shows
// as a failed exit code.
// Usage: file.ts <folder>   (a Linux path: Wine's drive Z: is the Linux root)
import { readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { MappedFile, ShmError } from "../../mod.ts";
import { kernel32, WIN } from "../../windows/kernel32.ts";

const dir = process.argv[2];
const seen: Record<string, unknown> = {};
const file = (name: string) => `${dir}/${name}`;

/** What an error looks like, for the suite to compare. */
function describe(error: unknown): Record<string, unknown> {
  if (error instanceof ShmError) {
    return { class: "ShmError", code: error.code, errno: error.errno, syscall: error.syscall };
  }
  return {
    class: (error as Error)?.name ?? typeof error,
    code: (error as { code?: string })?.code,
    message: (error as Error)?.message,
  };
}

/** Runs `fn` and records its result, or the error it throws. */
function attempt(label: string, fn: () => unknown): void {
  try {
    seen[label] = { ok: fn() ?? true };
  } catch (error) {
    seen[label] = { error: describe(error) };
  }
}

const exists = (path: string) => {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
};

// --- create a new file, write through the mapping, flush, close, read it back --
attempt("create", () => {
  const path = file("new.bin");
  const mapped = MappedFile.open(path, { size: 10000, create: true });
  const result: Record<string, unknown> = {
    path: mapped.path,
    size: mapped.size,
    readOnly: mapped.readOnly,
    fileSize: statSync(path).size,
    zeroFilled: mapped.bytes().every((b) => b === 0),
  };
  mapped.bytes().set([1, 2, 3], 5000);
  mapped.bytes()[9999] = 4;
  // The file's reads see the mapping's bytes at once, before any flush.
  result.readBeforeFlush = Array.from(readFileSync(path).subarray(5000, 5003));
  mapped.flush();
  mapped.flush(4999, 3); // not page-aligned: the start is rounded down
  mapped.flush(9999, 1);
  mapped.flush(10000, 0);
  const flushErrors = [() => mapped.flush(9000, 1001), () => mapped.flush(-1)].map((f) => {
    try {
      f();
      return "no error";
    } catch (error) {
      return (error as Error).name;
    }
  });
  result.flushErrors = flushErrors;
  const bytes = mapped.bytes();
  const words = mapped.region(0, 64).array(Int32Array);
  mapped.close();
  mapped.close(); // idempotent
  bytes[0] = 5; // detached: ignored, no crash
  result.afterClose = [bytes.length, words.length, String(bytes[0]), mapped.closed];
  try {
    mapped.flush();
    result.flushAfterClose = "no error";
  } catch (error) {
    result.flushAfterClose = (error as ShmError).code;
  }
  const disk = readFileSync(path);
  result.disk = [disk.length, ...disk.subarray(4999, 5004), disk[9999]];
  return result;
});

// --- path spellings: Z:\ with backslashes, forward slashes, non-ASCII -------
attempt("paths", () => {
  const path = file("spelled.bin");
  writeFileSync(path, Buffer.from([1, 2, 3, 4]));
  const drive = `Z:${path.replaceAll("/", "\\")}`;
  const a = MappedFile.open(drive);
  const b = MappedFile.open(path);
  a.bytes()[0] = 9;
  const result = { driveSize: a.size, sharedSees: b.bytes()[0] };
  a.close();
  b.close();
  const unicode = file("ü€😀.bin");
  const c = MappedFile.open(unicode, { size: 4096, create: true });
  c.bytes()[1] = 7;
  c.close();
  return { ...result, unicode: [statSync(unicode).size, readFileSync(unicode)[1]] };
});

// --- an existing file: the whole of it, grown, or a prefix --------------------
attempt("existing", () => {
  const path = file("existing.bin");
  writeFileSync(path, Buffer.from([9, 8, 7]));
  const whole = MappedFile.open(path);
  const result: Record<string, unknown> = { whole: [whole.size, ...whole.bytes()] };
  const grown = MappedFile.open(path, { size: 8192 });
  result.grown = [grown.size, statSync(path).size, ...grown.bytes().subarray(0, 4)];
  const part = MappedFile.open(path, { size: 2 });
  result.part = [part.size, statSync(path).size];
  // create: true on an existing file opens it (like O_CREAT without O_EXCL after a race).
  const again = MappedFile.open(path, { create: true });
  result.createExisting = [again.size, again.bytes()[0]];
  for (const m of [whole, grown, part, again]) m.close();
  return result;
});

// --- read-only and private: writes never reach the file, never crash --------
attempt("copyOnWrite", () => {
  const path = file("cow.bin");
  writeFileSync(path, Buffer.alloc(8192, 1));
  const shared = MappedFile.open(path);
  const cow = MappedFile.open(path, { private: true });
  const ro = MappedFile.open(path, { readOnly: true });
  const result: Record<string, unknown> = { flags: [shared.readOnly, cow.readOnly, ro.readOnly] };
  cow.bytes()[0] = 50;
  ro.bytes()[1] = 60;
  shared.bytes()[4096] = 7; // a page neither copy has written
  cow.flush(); // a no-op on a private mapping
  result.local = [cow.bytes()[0], ro.bytes()[1]];
  result.sharedSees = [shared.bytes()[0], shared.bytes()[1]];
  result.copiesFollow = [cow.bytes()[4096], ro.bytes()[4096]];
  const roBytes = ro.bytes();
  for (const m of [shared, cow, ro]) m.close();
  roBytes[0] = 3; // detached: ignored
  result.roAfterClose = roBytes.length;
  const disk = readFileSync(path);
  result.disk = [disk[0], disk[1], disk[4096], disk.length];
  return result;
});

// --- Windows will not truncate a mapped file (POSIX would SIGBUS the mapper) --
attempt("truncateWhileMapped", () => {
  const path = file("truncate.bin");
  const mapped = MappedFile.open(path, { size: 8192, create: true });
  mapped.bytes()[8191] = 1;
  let refused = false;
  try {
    truncateSync(path, 0);
  } catch {
    refused = true; // ERROR_USER_MAPPED_FILE; each runtime names it its own way
  }
  const result = { refused, sizeAfter: statSync(path).size, lastByte: mapped.bytes()[8191] };
  mapped.close();
  truncateSync(path, 0); // fine once unmapped
  return { ...result, afterClose: statSync(path).size };
});

// --- a file another process opened without sharing: EBUSY, nothing changed --
attempt("sharingViolation", () => {
  const path = file("exclusive.bin");
  writeFileSync(path, "abc");
  const { k } = kernel32();
  const units = Uint16Array.from(path + "\0", (c) => c.charCodeAt(0));
  // Share mode 0: no one else may open it while this handle lives.
  const exclusive = BigInt(k.symbols.CreateFileW(units, WIN.GENERIC_READ, 0, 0n, WIN.OPEN_EXISTING, 0, 0n));
  try {
    MappedFile.open(path, { size: 8192 }).close();
    return "no error";
  } finally {
    k.symbols.CloseHandle(exclusive);
    seen.sharingViolationLength = statSync(path).size;
  }
});

// --- errors: empty file, directory, missing file, short read-only file -------
{
  const empty = file("empty.bin");
  writeFileSync(empty, "");
  const short = file("short.bin");
  writeFileSync(short, "abc");
  attempt("empty", () => MappedFile.open(empty));
  attempt("emptyReadOnly", () => MappedFile.open(empty, { readOnly: true }));
  attempt("directory", () => MappedFile.open(dir));
  attempt("directoryReadOnly", () => MappedFile.open(dir, { readOnly: true }));
  attempt("directoryCreate", () => MappedFile.open(dir, { create: true, size: 1 }));
  attempt("missing", () => MappedFile.open(file("missing.bin")));
  attempt("missingFolder", () => MappedFile.open(file("no/such.bin"), { create: true, size: 1 }));
  attempt("shortReadOnly", () => MappedFile.open(short, { size: 4096, readOnly: true }));
  attempt("shortPrivate", () => MappedFile.open(short, { size: 4096, private: true }));
  attempt("device", () => MappedFile.open("NUL"));
  attempt("createEmpty", () => MappedFile.open(file("created-empty.bin"), { create: true }));
  seen.createEmptyLeft = exists(file("created-empty.bin"));
  seen.untouched = [statSync(empty).size, statSync(short).size];
}

// --- a failed open undoes its work --------------------------------------------
// 8 TiB: the file grows (sparse, under Wine), then MapViewOfFile runs out of
// address space; the new file is deleted, the short one gets its length back.
{
  const huge = file("huge.bin");
  attempt("createHuge", () => MappedFile.open(huge, { create: true, size: 2 ** 43 }));
  seen.createHugeLeft = exists(huge);
  const short = file("short-huge.bin");
  writeFileSync(short, "abc");
  attempt("growHuge", () => MappedFile.open(short, { size: 2 ** 43 }));
  seen.growHugeLength = statSync(short).size;
}

// --- bad input: rejected before any call, nothing created ----------------------
{
  const path = file("bad.bin");
  const bad: Record<string, () => unknown> = {
    notString: () => MappedFile.open(42 as unknown as string),
    empty: () => MappedFile.open(""),
    nul: () => MappedFile.open("a\0b"),
    sizeZero: () => MappedFile.open(path, { size: 0, create: true }),
    sizeHuge: () => MappedFile.open(path, { size: 2 ** 60, create: true }),
    createReadOnly: () => MappedFile.open(path, { create: true, size: 1, readOnly: true }),
    createType: () => MappedFile.open(path, { create: "yes" as unknown as boolean }),
  };
  const errors: Record<string, string> = {};
  for (const [label, fn] of Object.entries(bad)) {
    try {
      fn();
      errors[label] = "no error";
    } catch (error) {
      errors[label] = (error as Error).name;
    }
  }
  seen.badInput = errors;
  seen.badInputLeft = exists(path);
}

console.log("RESULT " + JSON.stringify(seen));
