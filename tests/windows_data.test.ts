// The Windows backend's data, checked on every platform (the behaviour itself
// is tested under Wine by tests/windows/suite.ts): Win32 errors as errno
// codes, kernel object names, name rules and lifetime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { namedBackendFor } from "../internal/backend.ts";
import { portableName } from "../names.ts";
import { ShmError } from "../mod.ts";
import { win32Code, win32Error } from "../windows/errors.ts";
import { objectName } from "../windows/mapping.ts";
import { fileBackendFor } from "../internal/file_backend.ts";
import { mapFile as posixMapFile } from "../posix/file.ts";
import { mapFile as windowsMapFile } from "../windows/file.ts";

test("Win32 errors map to errno codes and keep the Win32 number", () => {
  const cases: [number, string][] = [
    [2, "ENOENT"],
    [5, "EACCES"],
    [8, "ENOMEM"],
    [14, "ENOMEM"],
    [112, "ENOSPC"],
    [183, "EEXIST"],
    [1314, "EPERM"],
    [1455, "ENOSPC"],
    [9999, "EWIN9999"],
  ];
  for (const [error, code] of cases) assert.equal(win32Code(error), code, `Win32 error ${error}`);
  const e = win32Error("CreateFileMappingW", 1455, "frames");
  assert.ok(e instanceof ShmError);
  assert.equal(e.code, "ENOSPC");
  assert.equal(e.errno, 1455);
  assert.equal(e.syscall, "CreateFileMappingW");
  assert.equal(e.path, "frames");
  assert.match(e.message, /CreateFileMappingW failed for 'frames': ENOSPC \(ERROR_COMMITMENT_LIMIT\)/);
  const denied = win32Error("OpenFileMappingW", 5, "frames");
  assert.equal(denied.code, "EACCES");
  assert.match(denied.message, /ERROR_ACCESS_DENIED/);
  const custom = win32Error("OpenFileMappingW", 6, "frames", "ENOENT", "taken by an event");
  assert.equal(custom.code, "ENOENT");
  assert.equal(custom.errno, 6);
  assert.match(custom.message, /ENOENT \(taken by an event\)/);
});

test("Windows kernel object names: Local\\ by default, Global\\ on request, NUL-terminated UTF-16", () => {
  const decode = (units: Uint16Array) => String.fromCharCode(...units);
  assert.equal(decode(objectName("frames", "local")), "Local\\frames\0");
  assert.equal(decode(objectName("frames", "global")), "Global\\frames\0");
  assert.equal(decode(objectName("wnsm_0123abcd", "local")), "Local\\wnsm_0123abcd\0");
  assert.equal(decode(objectName("ünï€😀", "local")), "Local\\ünï€😀\0");
});

test("Windows name rules: 260 UTF-16 units with the longest prefix, no backslash", () => {
  const rules = namedBackendFor("win32").nameRules;
  assert.equal(portableName("x".repeat(253), rules).length, 253);
  assert.equal(portableName("/" + "x".repeat(253), rules).length, 253);
  assert.throws(() => portableName("x".repeat(254), rules), /too long for Windows: 261 UTF-16 units/);
  // Counted in UTF-16 units: an astral character is two.
  assert.throws(() => portableName("😀".repeat(127), rules), RangeError);
  assert.throws(() => portableName("Global\\frames", rules), /must not contain '\\'/);
  assert.throws(() => portableName("a\\b", rules), RangeError);
});

test("Windows lifetime: names vanish with the last handle, unlink does nothing", () => {
  const backend = namedBackendFor("win32");
  assert.equal(backend.persistent, false);
  assert.equal(namedBackendFor("linux").persistent, true);
  // A no-op that makes no system call, so it runs anywhere.
  assert.equal(backend.unlink("frames", "local"), undefined);
  assert.ok(backend.maxSize >= 2 ** 40);
});

test("Windows files: the file backend is chosen by OS; file errors map to errno codes", () => {
  assert.equal(fileBackendFor("win32"), windowsMapFile);
  assert.equal(fileBackendFor("linux"), posixMapFile);
  assert.equal(fileBackendFor("darwin"), posixMapFile);
  const cases: [number, string][] = [
    [3, "ENOENT"],
    [19, "EROFS"],
    [32, "EBUSY"],
    [39, "ENOSPC"],
    [80, "EEXIST"],
    [267, "ENOTDIR"],
    [1006, "EINVAL"],
    [1224, "EBUSY"],
  ];
  for (const [error, code] of cases) assert.equal(win32Code(error), code, `Win32 error ${error}`);
  const hinted = win32Error("CreateFileW", 32, "data.bin", undefined, undefined, "Close it elsewhere");
  assert.equal(hinted.code, "EBUSY");
  assert.match(hinted.message, /ERROR_SHARING_VIOLATION\)\. Close it elsewhere$/);
});
