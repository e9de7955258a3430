// Child: opens <prefix>_o0 .. _o<count-1> while a collector runs, keeps what it
// got open, prints the names it holds as JSON, then "ready", and ends when
// stdin closes. Usage: opener.ts <prefix> <count> <startAt>
import { Segment, ShmError } from "../../mod.ts";

const [prefix, count, startAt] = process.argv.slice(2);
try {
  Segment.open(`${prefix}_warm-up`); // load libc before the start
} catch {
  // ENOENT, as planned.
}
while (Date.now() < Number(startAt)) {
  // Spin until the agreed start, to race the collector.
}
const held: Segment[] = [];
for (let i = 0; i < Number(count); i++) {
  try {
    held.push(Segment.open(`${prefix}_o${i}`));
  } catch (error) {
    if (!(error instanceof ShmError) || error.code !== "ENOENT") throw error;
  }
}
console.log(JSON.stringify(held.map((s) => s.name)));
console.log("ready");
process.stdin.resume();
process.stdin.on("end", () => {
  for (const s of held) s.close();
  process.stdin.pause();
});
