// Platform data that cannot run here (macOS, Windows) is still checked here:
// constants, name rules, symbol names and the unsupported-OS error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { namedBackendFor } from "../internal/backend.ts";
import { ffi } from "../ffi/mod.ts";
import { portableName } from "../names.ts";
import { posixConstants } from "../posix/constants.ts";
import { errnoTable } from "../posix/errno.ts";
import { libcSymbols } from "../posix/libc.ts";
import { uniqueName } from "../mod.ts";
import { OS } from "./helpers.ts";

test("Linux and Darwin constants differ where the systems do", () => {
  const linux = posixConstants("linux")!;
  const darwin = posixConstants("darwin")!;
  assert.equal(linux.O_CREAT, 0o100);
  assert.equal(linux.O_EXCL, 0o200);
  assert.equal(darwin.O_CREAT, 0x200);
  assert.equal(darwin.O_EXCL, 0x800);
  for (const c of [linux, darwin]) {
    assert.equal(c.MAP_SHARED, 1);
    assert.equal(c.PROT_READ, 1);
    assert.equal(c.PROT_WRITE, 2);
  }
  assert.equal(darwin.canReserve, false);
  assert.equal(darwin.resizable, false);
  assert.equal(posixConstants("win32"), undefined);
  assert.equal(posixConstants("freebsd"), undefined);
});

test("errno names follow each system's numbering", () => {
  assert.equal(errnoTable("linux").name(17), "EEXIST");
  assert.equal(errnoTable("linux").name(28), "ENOSPC");
  assert.equal(errnoTable("linux").name(11), "EAGAIN");
  assert.equal(errnoTable("darwin").name(35), "EAGAIN");
  assert.equal(errnoTable("darwin").name(63), "ENAMETOOLONG");
  assert.equal(errnoTable("darwin").name(60), "ETIMEDOUT");
  assert.equal(errnoTable("linux").name(9999), "E9999");
});

test("macOS names: at most 31 bytes with the slash, counted in UTF-8", () => {
  const rules = namedBackendFor("darwin").nameRules;
  assert.equal(portableName("x".repeat(30), rules), "x".repeat(30));
  assert.equal(portableName("/" + "x".repeat(30), rules), "x".repeat(30));
  assert.throws(() => portableName("x".repeat(31), rules), /too long for macOS/);
  assert.throws(() => portableName("é".repeat(16), rules), RangeError); // 32 bytes
  assert.ok(uniqueName().length + 1 <= 31, "uniqueName() fits macOS");
});

test("Linux names: NAME_MAX bytes after the slash", () => {
  const rules = namedBackendFor("linux").nameRules;
  assert.equal(portableName("x".repeat(255), rules).length, 255);
  assert.throws(() => portableName("x".repeat(256), rules), /too long for Linux/);
});

test("Windows names: no backslash after the prefix", () => {
  const rules = namedBackendFor("win32").nameRules;
  assert.equal(portableName("wnsm_0123abcd", rules), "wnsm_0123abcd");
  assert.throws(() => portableName("a\\b", rules), /must not contain '\\'/);
});

test("Darwin symbol names: __error for errno, fstat$INODE64 on x64", () => {
  const darwin = posixConstants("darwin")!;
  assert.equal(libcSymbols(darwin, "x64").errno_location.name, "__error");
  assert.equal(libcSymbols(darwin, "x64").fstat.name, "fstat$INODE64");
  assert.equal(libcSymbols(darwin, "arm64").fstat.name, "fstat");
  assert.equal(libcSymbols(posixConstants("linux")!, "x64").errno_location.name, "__errno_location");
});

test("an unsupported OS gets a clear error, not a crash", () => {
  const backend = namedBackendFor("aix");
  assert.throws(
    () => backend.create("x", { size: 1, mode: 0o600, reserve: true, namespace: "local" }),
    /does not support shared memory on 'aix'/,
  );
});

test(
  "old glibc: shm_open is found through librt.so.1 when libc lacks it",
  { skip: OS !== "linux" && "Linux only" },
  () => {
    const linux = posixConstants("linux")!;
    const lib = ffi.open(["libshmem-does-not-exist.so.9", "librt.so.1"], libcSymbols(linux, ffi.arch));
    assert.equal(lib.path, "librt.so.1");
    const name = new TextEncoder().encode(`/${uniqueName("shmt_")}\0`);
    const fd = lib.symbols.shm_open(name, linux.O_RDWR | linux.O_CREAT | linux.O_EXCL, 0o600) as number;
    assert.ok(fd >= 0);
    assert.equal(lib.symbols.close(fd), 0);
    assert.equal(lib.symbols.shm_unlink(name), 0);
  },
);

test("a library that is missing everywhere names every candidate", () => {
  assert.throws(
    () => ffi.open(["libshmem-nope-1.so", "libshmem-nope-2.so"], { getpid: { parameters: [], result: "i32" } }),
    /libshmem-nope-1\.so.*libshmem-nope-2\.so/s,
  );
});
