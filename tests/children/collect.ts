// Child: collects orphans whose names start with a prefix; prints the names removed as JSON.
// Usage: collect.ts <prefix> [startAt]   (startAt: a Date.now() to wait for, so racers start together)
import { Segment } from "../../mod.ts";

const [prefix, startAt] = process.argv.slice(2);
Segment.collect({ prefix: `${prefix}_warm-up_`, graceMs: 0 }); // load libc before the start
while (startAt !== undefined && Date.now() < Number(startAt)) {
  // Spin until the agreed start, to make the collectors race.
}
const removed = Segment.collect({ prefix, graceMs: 0 }).map((s) => s.name);
console.log(JSON.stringify(removed));
