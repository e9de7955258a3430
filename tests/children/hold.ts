// Child: holds a segment until killed, printing "ready" once it does.
// Usage: hold.ts <name> create|open
import { Segment } from "../../mod.ts";

const [name, how] = process.argv.slice(2);
const seg = how === "create" ? Segment.create(name, { size: 4096 }) : Segment.open(name);
seg.bytes()[0] = 1;
console.log("ready");
setInterval(() => seg.bytes()[0]++, 1000);
