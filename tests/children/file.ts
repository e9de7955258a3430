// Child: maps a file and reads or writes bytes, printing JSON.
// Usage: file.ts <path> read <offset> <length>
//        file.ts <path> write <offset> <byte,byte,...>          (MAP_SHARED, flush, close)
//        file.ts <path> readonly-write <offset> <byte>          (write through a read-only mapping)
//        file.ts <path> private-write <offset> <byte>           (write through a private mapping)
import { MappedFile } from "../../mod.ts";

const [path, op, offset, arg] = process.argv.slice(2);
if (op === "read") {
  const file = MappedFile.open(path, { readOnly: true });
  const bytes = Array.from(file.region(Number(offset), Number(arg)).bytes());
  console.log(JSON.stringify({ size: file.size, bytes }));
  file.close();
} else if (op === "write") {
  const file = MappedFile.open(path);
  file.region(Number(offset)).bytes().set(arg.split(",").map(Number));
  file.flush();
  console.log(JSON.stringify({ size: file.size }));
  file.close();
} else if (op === "readonly-write" || op === "private-write") {
  const file = MappedFile.open(path, op === "readonly-write" ? { readOnly: true } : { private: true });
  const view = file.bytes();
  view[Number(offset)] = Number(arg);
  file.flush(); // nothing to write back
  console.log(JSON.stringify({ size: file.size, local: view[Number(offset)], readOnly: file.readOnly }));
  file.close();
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
