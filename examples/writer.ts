// The demo's writer: creates a segment and, ten times a second, bumps a
// counter and paints a small "image" with the counter's value.
// Usage: <runtime> examples/writer.ts <name> <ticks>
import { Segment } from "../mod.ts";

const [name, ticks = "20"] = process.argv.slice(2);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

// unlinkOnExit: the name goes also on Ctrl-C (SIGINT) or SIGTERM, not only after the last tick.
using seg = Segment.create(name, { size: 64 + 32 * 32, unlinkOnExit: true });
const counter = seg.region(0, 8).array(Int32Array); // [tick, done]
const image = seg.region(64, 32 * 32).bytes();
console.log(`${runtime} writer: created '${name}' (${seg.size} bytes)`);

for (let tick = 1; tick <= Number(ticks); tick++) {
  image.fill(tick % 256);
  Atomics.store(counter, 0, tick);
  await new Promise((r) => setTimeout(r, 100));
}
Atomics.store(counter, 1, 1); // done
await new Promise((r) => setTimeout(r, 300)); // let the readers see it
seg.unlink();
console.log(`${runtime} writer: done, '${name}' unlinked`);
