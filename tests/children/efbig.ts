// Child, run with RLIMIT_FSIZE of 1 MiB and SIGXFSZ ignored: ftruncate fails; nothing is left.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { Segment, ShmError } from "../../mod.ts";

const name = process.argv[2];
const fds = () => readdirSync("/proc/self/fd").length;
const before = fds();
assert.throws(
  () => Segment.create(name, { size: 4 << 20 }),
  (e: unknown) => e instanceof ShmError && e.code === "EFBIG" && e.syscall === "ftruncate",
);
assert.equal(existsSync(`/dev/shm/${name}`), false);
assert.equal(fds(), before);
console.log("ok");
