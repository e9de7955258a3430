// Child: opens a segment and reads or writes bytes, printing JSON.
// Usage: rw.ts <name> read <offset> <length>
//        rw.ts <name> write <offset> <byte,byte,...>
//        rw.ts <name> readonly-write <offset> <byte>     (write through a read-only open)
import { Segment } from "../../mod.ts";

const [name, op, offset, arg] = process.argv.slice(2);
if (op === "read") {
  const seg = Segment.open(name, { readOnly: true });
  const bytes = Array.from(seg.region(Number(offset), Number(arg)).bytes());
  console.log(JSON.stringify({ size: seg.size, bytes }));
  seg.close();
} else if (op === "write") {
  const seg = Segment.open(name);
  seg.region(Number(offset)).bytes().set(arg.split(",").map(Number));
  console.log(JSON.stringify({ size: seg.size }));
  seg.close();
} else if (op === "readonly-write") {
  const seg = Segment.open(name, { readOnly: true });
  const view = seg.bytes();
  view[Number(offset)] = Number(arg);
  console.log(JSON.stringify({ size: seg.size, local: view[Number(offset)], readOnly: seg.readOnly }));
  seg.close();
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
