// Child: anonymous shared memory across processes.
// Usage: anon.ts create <size> <offset> <byte>     creates, writes, prints {handle}, then sleeps until killed
//        anon.ts open <handle> <gate> <offset>     opens, prints {opened, ino}, waits until the file <gate> exists,
//                                                  then reads the byte at <offset> again and prints {after}
//        anon.ts readonly-write <handle> <offset> <byte>
import { existsSync, statSync } from "node:fs";
import { AnonymousSegment } from "../../mod.ts";

const [op, a, b, c] = process.argv.slice(2);
const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
if (op === "create") {
  const seg = AnonymousSegment.create({ size: Number(a) });
  seg.bytes()[Number(b)] = Number(c);
  console.log(JSON.stringify({ handle: seg.handle, ino: statSync(seg.handle).ino }));
  for (;;) nap(1000);
} else if (op === "open") {
  const seg = AnonymousSegment.open(a);
  console.log(JSON.stringify({ opened: seg.bytes()[Number(c)], ino: statSync(seg.handle).ino, size: seg.size }));
  while (!existsSync(b)) nap(10);
  console.log(JSON.stringify({ after: seg.bytes()[Number(c)] }));
  seg.close();
} else if (op === "readonly-write") {
  const seg = AnonymousSegment.open(a, { readOnly: true });
  const view = seg.bytes();
  view[Number(b)] = Number(c);
  console.log(JSON.stringify({ size: seg.size, local: view[Number(b)], readOnly: seg.readOnly }));
  seg.close();
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
