// Child: opens a segment and prints the error code it gets (or "opened").
import { Segment, ShmError } from "../../mod.ts";

try {
  Segment.open(process.argv[2], { readOnly: process.argv[3] === "ro" }).close();
  console.log(JSON.stringify({ opened: true }));
} catch (e) {
  if (!(e instanceof ShmError)) throw e;
  console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall }));
}
