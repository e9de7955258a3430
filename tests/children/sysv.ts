// Child: opens a System V segment and reads or writes bytes, printing JSON.
// Usage: sysv.ts id|key <id or key> read <offset> <length>
//        sysv.ts id|key <id or key> write <offset> <byte,byte,...>
//        sysv.ts id|key <id or key> readonly-write <offset> <byte>   (write through a read-only open)
//        sysv.ts id|key <id or key> private-write <offset> <byte>    (write through a private open)
import { SysvSegment } from "../../mod.ts";

const [by, which, op, offset, arg] = process.argv.slice(2);
const open = (options?: { readOnly?: boolean; private?: boolean }) =>
  by === "key" ? SysvSegment.openKey(Number(which), options) : SysvSegment.open(Number(which), options);
if (op === "read") {
  const seg = open({ readOnly: true });
  const bytes = Array.from(seg.region(Number(offset), Number(arg)).bytes());
  console.log(JSON.stringify({ id: seg.id, key: seg.key, size: seg.size, bytes }));
  seg.close();
} else if (op === "write") {
  const seg = open();
  seg.region(Number(offset)).bytes().set(arg.split(",").map(Number));
  console.log(JSON.stringify({ id: seg.id, size: seg.size }));
  seg.close();
} else if (op === "readonly-write" || op === "private-write") {
  const seg = open(op === "readonly-write" ? { readOnly: true } : { private: true });
  const view = seg.bytes();
  view[Number(offset)] = Number(arg);
  console.log(JSON.stringify({ size: seg.size, local: view[Number(offset)], readOnly: seg.readOnly }));
  seg.close();
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
