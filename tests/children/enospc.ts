// Child, run with a 1 MiB tmpfs over /dev/shm: create must fail with ENOSPC and leave nothing.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { Segment, ShmError } from "../../mod.ts";

const fds = () => readdirSync("/proc/self/fd").length;
const before = fds();
assert.throws(
  () => Segment.create("too-big", { size: 8 << 20 }),
  (e: unknown) => e instanceof ShmError && e.code === "ENOSPC" && e.syscall === "posix_fallocate",
);
assert.deepEqual(readdirSync("/dev/shm"), []);
assert.equal(fds(), before);
// What fits still works, and a sparse segment is allowed when asked for.
const fits = Segment.create("fits", { size: 256 << 10 });
fits.bytes().fill(1);
fits.close();
fits.unlink();
const sparse = Segment.create("sparse", { size: 8 << 20, reserve: false });
sparse.close();
sparse.unlink();
assert.deepEqual(readdirSync("/dev/shm"), []);
console.log("ok");
