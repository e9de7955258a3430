// The demo's reader: opens the writer's segment read-only and prints what it
// sees whenever the counter changes.
// Usage: <runtime> examples/reader.ts <name>
import { Segment, ShmError } from "../mod.ts";

const name = process.argv[2];
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

let seg: Segment | undefined;
for (let i = 0; i < 100 && !seg; i++) {
  try {
    seg = Segment.open(name, { readOnly: true });
  } catch (e) {
    if (!(e instanceof ShmError && e.code === "ENOENT")) throw e;
    await new Promise((r) => setTimeout(r, 50)); // the writer has not created it yet
  }
}
if (!seg) throw new Error(`no segment '${name}' appeared`);

const counter = seg.region(0, 8).array(Int32Array);
const image = seg.region(64).bytes();
let last = -1;
while (Atomics.load(counter, 1) === 0) {
  const tick = Atomics.load(counter, 0);
  if (tick !== last && tick % 5 === 0 && tick > 0) {
    const sum = image.reduce((a, b) => a + b, 0);
    console.log(`${runtime} reader: tick ${tick}, image pixel ${image[0]}, image sum ${sum}`);
  }
  last = tick;
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`${runtime} reader: writer is done after tick ${Atomics.load(counter, 0)}`);
seg.close();
