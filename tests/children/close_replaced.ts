// Child: process A of the close-after-replace test. Usage: close_replaced.ts <rr|ps> <name>
// Serves (rr) or publishes (ps) the name, prints ready, waits until the segment `<name>_go` exists (by then the
// test removed the name and made its own service under it), closes, prints closed.
import { Publisher, RequestServer, Segment } from "../../mod.ts";

const [kind, name] = process.argv.slice(2);
const port = kind === "rr"
  ? RequestServer.serve(name, { clients: 1, requestSize: 8 })
  : Publisher.create(name, { sampleSize: 8, subscribers: 1 });
console.log("ready");
const deadline = Date.now() + 30_000;
for (;;) {
  try {
    Segment.open(`${name}_go`).close();
    break;
  } catch {
    if (Date.now() > deadline) throw new Error("no go signal");
    await new Promise((r) => setTimeout(r, 10));
  }
}
port.close();
console.log("closed");
