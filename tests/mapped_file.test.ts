import { test } from "node:test";
import assert from "node:assert/strict";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { MappedFile, ShmError } from "../mod.ts";
import { child, CHILD_RUNTIMES, command, ok, ROOT, run } from "./helpers.ts";
import { fdCount, mapCount, mapsMentioning } from "./resources.ts";

const dir = mkdtempSync(join(tmpdir(), "shmem-file-"));
let counter = 0;
const fresh = () => join(dir, `f${process.pid}_${counter++}.bin`);

test("create grows a new file; writes are the file's bytes after flush and close", () => {
  const path = fresh();
  const file = MappedFile.open(path, { size: 10000, create: true, mode: 0o640 });
  assert.equal(file.path, path);
  assert.equal(file.size, 10000);
  assert.equal(file.readOnly, false);
  assert.equal(statSync(path).size, 10000);
  assert.equal(statSync(path).mode & 0o777, 0o640);
  file.bytes().set([1, 2, 3], 5000);
  file.flush();
  file.flush(4999, 3);
  file.flush(9999, 1);
  file.flush(10000, 0);
  assert.throws(() => file.flush(9000, 1001), RangeError);
  assert.throws(() => file.flush(-1), RangeError);
  const bytes = file.bytes();
  file.close();
  file.close();
  assert.equal(bytes.length, 0);
  assert.throws(() => file.flush(), (e: unknown) => e instanceof ShmError && e.code === "ERR_USE_AFTER_CLOSE");
  const disk = readFileSync(path);
  assert.equal(disk.length, 10000);
  assert.deepEqual(Array.from(disk.subarray(4999, 5004)), [0, 1, 2, 3, 0]);
  rmSync(path);
});

test("the whole file by default; a short file grows to size, a longer one keeps its length", () => {
  const path = fresh();
  writeFileSync(path, Buffer.from([9, 8, 7]));
  using whole = MappedFile.open(path);
  assert.equal(whole.size, 3);
  assert.deepEqual(Array.from(whole.bytes()), [9, 8, 7]);
  using grown = MappedFile.open(path, { size: 8192 });
  assert.equal(statSync(path).size, 8192);
  assert.deepEqual(Array.from(grown.bytes().subarray(0, 4)), [9, 8, 7, 0]);
  using part = MappedFile.open(path, { size: 2 });
  assert.equal(part.size, 2);
  assert.equal(statSync(path).size, 8192);
  whole.close();
  grown.close();
  part.close();
  rmSync(path);
});

test("an empty file, a directory, a FIFO, a missing file or a short read-only file is an error, never a crash", () => {
  const empty = fresh();
  writeFileSync(empty, "");
  const short = fresh();
  writeFileSync(short, "abc");
  const fifo = fresh();
  execFileSync("mkfifo", [fifo]); // before counting: Bun keeps descriptors for its first child process
  const fds = fdCount();
  const is = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;
  assert.throws(() => MappedFile.open(empty), is("EINVAL"));
  assert.throws(() => MappedFile.open(empty, { readOnly: true }), is("EINVAL"));
  assert.throws(() => MappedFile.open(dir), is("EISDIR"));
  assert.throws(() => MappedFile.open(dir, { readOnly: true }), is("EISDIR"));
  assert.throws(() => MappedFile.open(join(dir, "missing")), is("ENOENT"));
  assert.throws(() => MappedFile.open(join(dir, "no", "such"), { create: true, size: 1 }), is("ENOENT"));
  assert.throws(() => MappedFile.open(short, { size: 4096, readOnly: true }), is("EINVAL"));
  assert.throws(() => MappedFile.open(short, { size: 4096, private: true }), is("EINVAL"));
  assert.throws(() => MappedFile.open("/dev/null"), is("EINVAL"));
  assert.throws(() => MappedFile.open(fifo, { readOnly: true }), is("EINVAL")); // does not block either
  assert.throws(() => MappedFile.open(fifo), is("EINVAL"));
  rmSync(fifo);
  assert.equal(statSync(short).size, 3); // not grown
  assert.equal(statSync(empty).size, 0);
  assert.equal(fdCount(), fds);
  rmSync(empty);
  rmSync(short);
});

test("bad input is rejected before any system call and leaves nothing", () => {
  const path = fresh();
  const bad: [() => unknown, typeof TypeError | typeof RangeError][] = [
    // deno-lint-ignore no-explicit-any
    [() => MappedFile.open(42 as any), TypeError],
    [() => MappedFile.open(""), RangeError],
    [() => MappedFile.open("a\0b"), RangeError],
    [() => MappedFile.open(path, { size: 0, create: true }), RangeError],
    [() => MappedFile.open(path, { size: -1, create: true }), RangeError],
    [() => MappedFile.open(path, { size: 2 ** 60, create: true }), RangeError],
    // deno-lint-ignore no-explicit-any
    [() => MappedFile.open(path, { size: "1" as any, create: true }), TypeError],
    // deno-lint-ignore no-explicit-any
    [() => MappedFile.open(path, { create: "yes" as any }), TypeError],
    [() => MappedFile.open(path, { create: true, size: 1, mode: 0o1000 }), RangeError],
    [() => MappedFile.open(path, { create: true, size: 1, readOnly: true }), RangeError],
    [() => MappedFile.open(path, { create: true, size: 1, private: true }), RangeError],
    // deno-lint-ignore no-explicit-any
    [() => MappedFile.open(path, null as any), TypeError],
  ];
  for (const [call, type] of bad) assert.throws(call, type, String(call));
  assert.equal(existsSync(path), false);
});

test("a failed open undoes its work: a created file is removed", () => {
  const path = fresh();
  // Larger than the file system can hold: posix_fallocate fails, and the new file goes away again.
  assert.throws(() => MappedFile.open(path, { create: true, size: 2 ** 46 }), ShmError);
  assert.equal(existsSync(path), false);
  const short = fresh();
  writeFileSync(short, "abc");
  assert.throws(() => MappedFile.open(short, { size: 2 ** 46 }), ShmError);
  assert.equal(statSync(short).size, 3); // grown file shrunk back
  rmSync(short);
});

test("private and read-only mappings: this process's writes never reach the file", () => {
  const path = fresh();
  writeFileSync(path, Buffer.alloc(8192, 1));
  using shared = MappedFile.open(path);
  using cow = MappedFile.open(path, { private: true });
  using ro = MappedFile.open(path, { readOnly: true });
  assert.equal(cow.readOnly, true);
  cow.bytes()[0] = 50;
  ro.bytes()[1] = 60;
  cow.flush();
  ro.flush();
  assert.equal(cow.bytes()[0], 50);
  assert.equal(ro.bytes()[1], 60);
  assert.equal(shared.bytes()[0], 1);
  assert.equal(shared.bytes()[1], 1);
  shared.bytes()[4096] = 2; // untouched pages follow the file
  assert.equal(ro.bytes()[4096], 2);
  shared.flush();
  shared.close();
  cow.close();
  ro.close();
  assert.deepEqual(Array.from(readFileSync(path).subarray(0, 2)), [1, 1]);
  rmSync(path);
});

test("a plain write to the file from another descriptor shows in the mapping", () => {
  const path = fresh();
  writeFileSync(path, Buffer.alloc(4096));
  using file = MappedFile.open(path);
  const fd = openSync(path, "r+");
  writeSync(fd, Buffer.from([4, 5]), 0, 2, 100);
  closeSync(fd);
  assert.deepEqual(Array.from(file.bytes().subarray(100, 102)), [4, 5]);
  file.close();
  rmSync(path);
});

test("thousands of open/close cycles leak no descriptor or mapping", () => {
  const path = fresh();
  writeFileSync(path, Buffer.alloc(4096));
  const fds = fdCount();
  const maps = mapCount();
  for (let i = 0; i < 2000; i++) {
    const file = MappedFile.open(path, { size: 4096 });
    file.bytes()[0] = i & 0xff;
    const ro = MappedFile.open(path, { readOnly: true });
    ro.close();
    file.close();
    assert.throws(() => MappedFile.open(path, { size: 8192, readOnly: true }), ShmError);
    assert.throws(() => MappedFile.open(dir), ShmError);
  }
  assert.equal(fdCount(), fds);
  // The runtime maps and unmaps heap as it goes (tens of lines); a leak would add thousands.
  assert.ok(mapCount() <= maps + 200, `${mapCount() - maps} more mappings`);
  assert.equal(mapsMentioning(path), 0);
  rmSync(path);
});

for (const runtime of CHILD_RUNTIMES) {
  test(`a ${runtime} child maps what plain fs wrote, and its flushed writes are on disk`, () => {
    const path = fresh();
    writeFileSync(path, Buffer.from(Array.from({ length: 8192 }, (_, i) => i & 0xff)));
    const read = JSON.parse(ok(run(runtime, child("file.ts"), [path, "read", "4096", "3"]), runtime));
    assert.deepEqual(read, { size: 8192, bytes: [0, 1, 2] });
    ok(run(runtime, child("file.ts"), [path, "write", "100", "7,8,9"]), runtime);
    assert.deepEqual(Array.from(readFileSync(path).subarray(100, 103)), [7, 8, 9]);
    for (const op of ["readonly-write", "private-write"]) {
      const r = JSON.parse(ok(run(runtime, child("file.ts"), [path, op, "4096", "200"]), runtime));
      assert.deepEqual(r, { size: 8192, local: 200, readOnly: true });
      assert.equal(readFileSync(path)[4096], 0);
    }
    rmSync(path);
  });
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const quote = (args: string[]) => args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");

for (const runtime of CHILD_RUNTIMES) {
  test(`${runtime}: a full disk fails at open with ENOSPC, never SIGBUS later, and undoes the growth`, {
    skip: !isRoot && "needs root for a private tmpfs mount",
  }, () => {
    const mount = mkdtempSync(join(tmpdir(), "shmem-full-"));
    try {
      const cmd = quote([...command(runtime), child("file_enospc.ts"), mount]);
      const r = spawnSync("unshare", [
        "--mount",
        "sh",
        "-c",
        `mount -t tmpfs -o size=1m tmpfs '${mount}' && exec ${cmd}`,
      ], {
        encoding: "utf8",
        cwd: ROOT,
        timeout: 120_000,
      });
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.equal(r.stdout.trim(), "ok");
    } finally {
      rmSync(mount, { recursive: true, force: true });
    }
  });
}

test("clean up", () => {
  rmSync(dir, { recursive: true, force: true });
});
