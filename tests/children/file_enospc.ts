// Child, run with a 1 MiB tmpfs at <dir>: growing a file past it fails at open with ENOSPC and undoes its work.
import assert from "node:assert/strict";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MappedFile, ShmError } from "../../mod.ts";

const dir = process.argv[2];
const fds = () => readdirSync("/proc/self/fd").length;
const before = fds();
const enospc = (e: unknown) => e instanceof ShmError && e.code === "ENOSPC" && e.syscall === "posix_fallocate";
assert.throws(() => MappedFile.open(join(dir, "new"), { create: true, size: 8 << 20 }), enospc);
assert.deepEqual(readdirSync(dir), []); // the new file is gone
const short = join(dir, "short");
writeFileSync(short, "abc");
assert.throws(() => MappedFile.open(short, { size: 8 << 20 }), enospc);
assert.equal(statSync(short).size, 3); // its old length is back
assert.equal(fds(), before);
// What fits still works, to the last byte.
const fits = MappedFile.open(join(dir, "fits"), { create: true, size: 256 << 10 });
fits.bytes().fill(1);
fits.flush();
fits.close();
assert.equal(statSync(join(dir, "fits")).size, 256 << 10);
console.log("ok");
