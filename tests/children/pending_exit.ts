// Child: native waits in flight (lockAsync of a mutex another process holds,
// waitAsync, sendAsync/recvAsync of a Channel) when the memory under them is
// closed and when the process exits. Must end cleanly: exit code as asked,
// nothing on stderr (Node once printed "FATAL ERROR: ... napi_throw" here).
// Usage: pending_exit.ts <segment> <seed> <rounds>   (the mutex at byte 0 is held by another process)
import process from "node:process";
import { Channel, Mutex, Segment, waitAsync } from "../../mod.ts";
import { Rng } from "../fuzz/rng.ts";

const [name, seedArg, roundsArg] = process.argv.slice(2);
const rng = new Rng(Number(seedArg));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ignore = () => {};

for (let round = 0; round < Number(roundsArg); round++) {
  const seg = Segment.open(name);
  const m = new Mutex(seg.region(0, Mutex.BYTES));
  const channel = Channel.open(seg.region(4096));
  const pending: Promise<unknown>[] = [];
  for (let i = rng.int(1, 4); i > 0; i--) pending.push(m.lockAsync(rng.pick([undefined, 5, 50, 5000])).catch(ignore));
  pending.push(waitAsync(seg.region(64, 4), 0, 0, rng.pick([undefined, 1, 100])).catch(ignore));
  pending.push(channel.recvAsync(rng.pick([undefined, 2, 200])).catch(ignore));
  await sleep(rng.int(0, 10));
  const last = round === Number(roundsArg) - 1;
  if (last) {
    // The end: exit with waits in flight, or close and let the process end by itself.
    const how = rng.int(0, 2);
    if (how === 0) process.exit(0);
    if (how === 1) setTimeout(() => process.exit(0), rng.int(0, 5));
    if (how === 1 && rng.chance(0.5)) seg.close();
    if (how === 2) seg.close();
    break;
  }
  seg.close(); // every pending call rejects (a wait without timeout on open memory would rightly wait forever)
  await Promise.race([Promise.all(pending), sleep(rng.int(0, 20))]);
}
