// Child: creates a segment with unlinkOnExit, prints "ready", then ends as told.
// Usage: exit.ts <name> normal|wait|throw
import { Segment } from "../../mod.ts";

const [name, how] = process.argv.slice(2);
const seg = Segment.create(name, { size: 4096, unlinkOnExit: true });
seg.bytes()[0] = 1;
console.log("ready");
if (how === "wait") {
  setInterval(() => {}, 1000); // until a signal arrives
} else if (how === "throw") {
  throw new Error("planned failure");
} else if (how === "stdin") {
  // Ends normally once the parent closes stdin.
  process.stdin.resume();
  process.stdin.on("end", () => process.stdin.pause());
}
