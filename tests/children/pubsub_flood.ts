// Child: a publisher that publishes as fast as it can while subscribers join and leave.
// Usage: pubsub_flood.ts <name> <ms>
//   creates the service (4 slots, depth 4, history 3, block policy), prints "ready", publishes samples (each one's
//   first 4 bytes its sequence number) for <ms> ms, then closes and prints {published}. A sample whose bits a
//   join or leave lost would never come back: the pool would run dry and a loan would throw.
import { Publisher } from "../../mod.ts";

const [name, ms] = process.argv.slice(2);
const pub = Publisher.create(name, { sampleSize: 16, subscribers: 4, depth: 4, history: 3 });
console.log("ready");
const end = performance.now() + Number(ms);
let n = 0;
while (performance.now() < end) {
  for (let k = 0; k < 64; k++, n++) {
    const s = pub.loan();
    new DataView(s.bytes.buffer, s.bytes.byteOffset, 4).setUint32(0, n, true);
    if (!s.publish(undefined, 5000)) throw new Error(`no room for sample ${n} in 5 s`);
  }
}
pub.close();
console.log(JSON.stringify({ published: n }));
