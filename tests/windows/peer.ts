// Windows child (run under Wine by tests/windows/suite.ts): one side of two
// processes sharing a mapping. The writer creates it and waits; the reader
// opens it by name (retrying until it exists), checks the writer's bytes,
// answers, tries a read-only write, then waits until the name is gone, which
// it is once the writer has closed the last other handle. Each prints one line
// `RESULT <json>`. Synchronisation goes through the shared memory itself,
// with wait/waitAsync/notify, and both sides bump a counter under one Mutex.
// Given a file path, they also share that file: the writer creates and maps
// it, the reader reads it with plain fs, maps it, writes the second half,
// flushes, and tries to truncate it (Windows refuses while it is mapped).
// Usage: peer.ts writer <name> [file] | peer.ts reader <name> [file]
import { readFileSync, truncateSync } from "node:fs";
import { MappedFile, Mutex, notify, Segment, ShmError, wait, waitAsync } from "../../mod.ts";

const SIZE = 3 * 65536 + 100;
const WRITER = 0x57524954; // "WRIT"
const READER = 0x52454144; // "READ"
const LOCKED_ADDS = 1000;
const MUTEX_AT = 64; // 16 bytes; the counter it guards follows
const COUNTER_AT = MUTEX_AT + 16;
const FILE_SIZE = 65536 + 100;
const [role, name, file] = process.argv.slice(2);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : `node ${process.versions.node}`;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function pattern(i: number, seed: number): number {
  return (i * 7 + seed) & 0xff;
}

/** Index of the first byte in [from, to) that breaks the pattern, or -1. */
function mismatch(bytes: Uint8Array, from: number, to: number, seed: number): number {
  for (let i = from; i < to; i++) if (bytes[i] !== pattern(i, seed)) return i;
  return -1;
}

async function until(test: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}

/** A non-atomic read-modify-write that only the mutex keeps exact. */
function bumpUnderLock(mutex: Mutex, seg: Segment): void {
  const view = seg.region(COUNTER_AT, 4).view();
  for (let i = 0; i < LOCKED_ADDS; i++) {
    if (mutex.lock(30_000) !== "locked") throw new Error("Mutex.lock did not lock");
    view.setUint32(0, view.getUint32(0, true) + 1, true);
    mutex.unlock();
  }
}

function exists(): boolean {
  try {
    Segment.open(name).close();
    return true;
  } catch (error) {
    if (error instanceof ShmError && error.code === "ENOENT") return false;
    throw error;
  }
}

const seen: Record<string, unknown> = { role, runtime };
if (role === "writer") {
  const seg = Segment.create(name, { size: SIZE });
  const words = seg.region(0, 64).array(Int32Array);
  const bytes = seg.bytes();
  for (let i = 128; i < SIZE / 2; i++) bytes[i] = pattern(i, 1);
  const mutex = Mutex.init(seg.region(MUTEX_AT, Mutex.BYTES));
  const mapped = file === undefined ? undefined : MappedFile.open(file, { size: FILE_SIZE, create: true });
  if (mapped) { for (let i = 0; i < FILE_SIZE / 2; i++) mapped.bytes()[i] = pattern(i, 3); // not flushed
   }
  Atomics.store(words, 0, WRITER);
  notify(words, 0);
  bumpUnderLock(mutex, seg);
  const end = Date.now() + 60_000;
  while (Atomics.load(words, 1) !== READER && Date.now() < end) wait(words, 1, 0, 1000);
  seen.readerAnswered = Atomics.load(words, 1) === READER;
  seen.counter = new DataView(bytes.buffer, bytes.byteOffset).getUint32(COUNTER_AT, true);
  seen.readerAdds = Atomics.load(words, 2);
  seen.readerBytes = mismatch(bytes, Math.ceil(SIZE / 2), SIZE, 2);
  seen.readOnlyWriteLeaked = bytes[63] !== 0;
  seen.readerRuntime = new TextDecoder().decode(bytes.subarray(16, 16 + bytes[15]));
  if (mapped) {
    seen.fileReaderBytes = mismatch(mapped.bytes(), FILE_SIZE / 2, FILE_SIZE, 4);
    mapped.flush();
    mapped.close();
  }
  seg.close();
  seen.viewAfterClose = bytes.length;
} else if (role === "reader") {
  let seg: Segment | undefined;
  await until(() => {
    try {
      seg = Segment.open(name);
      return true;
    } catch (error) {
      if (error instanceof ShmError && error.code === "ENOENT") return false;
      throw error;
    }
  }, 60_000);
  if (seg === undefined) throw new Error(`segment '${name}' never appeared`);
  const words = seg.region(0, 64).array(Int32Array);
  // A pending waitAsync does not keep a process alive (like Atomics.waitAsync):
  // a timer does, or Node would exit here with "unsettled top-level await".
  const alive = setInterval(() => {}, 1000);
  if (Atomics.load(words, 0) !== WRITER) await waitAsync(words, 0, 0, 60_000);
  clearInterval(alive);
  seen.writerReady = Atomics.load(words, 0) === WRITER;
  seen.size = seg.size;
  const bytes = seg.bytes();
  seen.writerBytes = mismatch(bytes, 128, SIZE / 2, 1);
  bumpUnderLock(new Mutex(seg.region(MUTEX_AT, Mutex.BYTES)), seg);
  if (file !== undefined) {
    // Another process's plain read sees the writer's bytes, unflushed.
    seen.fileReadSees = mismatch(readFileSync(file), 0, FILE_SIZE / 2, 3);
    const mapped = MappedFile.open(file);
    seen.fileSize = mapped.size;
    seen.fileMapSees = mismatch(mapped.bytes(), 0, FILE_SIZE / 2, 3);
    for (let i = FILE_SIZE / 2; i < FILE_SIZE; i++) mapped.bytes()[i] = pattern(i, 4);
    mapped.flush(FILE_SIZE / 2, FILE_SIZE / 2);
    try {
      truncateSync(file, 0);
      seen.fileTruncateRefused = false;
    } catch {
      seen.fileTruncateRefused = true;
    }
    mapped.close();
  }
  // A read-only open in this process writes to page 0: it must stay private.
  const ro = Segment.open(name, { readOnly: true });
  ro.bytes()[63] = 0xee;
  seen.readOnlyLocal = ro.bytes()[63];
  ro.close();
  for (let i = Math.ceil(SIZE / 2); i < SIZE; i++) bytes[i] = pattern(i, 2);
  for (let i = 0; i < 10_000; i++) Atomics.add(words, 2, 1);
  const label = new TextEncoder().encode(runtime);
  bytes[15] = label.length;
  bytes.set(label, 16);
  Atomics.store(words, 1, READER);
  notify(words, 1);
  seg.close();
  // The writer holds the last handle now; once it closes, the name is gone.
  seen.goneAfterWriterClosed = await until(() => !exists(), 60_000);
} else {
  console.error("usage: peer.ts writer <name> [file] | peer.ts reader <name> [file]");
  process.exit(2);
}
console.log("RESULT " + JSON.stringify(seen));
