// Child: one port of a publish-subscribe service, printing one line of JSON on stdout.
// Usage: pubsub_peer.ts <name> <op> [args...]
//   subscribe <count> [async]   join, receive <count> samples, check every byte; prints {received, missed}
//   publish <count> [subs]      create the service, wait for <subs> subscribers (default 1), publish <count>
//                               samples (block policy), wait until all are received, close; prints {published}
//   hold                        join, receive one sample and hold it; prints {held}, then waits to be killed
//   serve                       create the service (1 subscriber slot, depth 1, 1 borrow), print {ready},
//                               publish one sample, then wait to be killed
import { Publisher, Subscriber } from "../../mod.ts";

const [name, op, ...args] = process.argv.slice(2);

/** Sample `i`: `i` as a u32, then bytes (i + k) & 255, `32 + i % 64` bytes in all. */
export const sizeOf = (i: number): number => 32 + (i % 64);

function fill(bytes: Uint8Array, i: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, 4).setUint32(0, i, true);
  for (let k = 4; k < sizeOf(i); k++) bytes[k] = (i + k) & 255;
}

function check(bytes: Uint8Array, i: number): void {
  if (bytes.length !== sizeOf(i)) throw new Error(`sample ${i}: ${bytes.length} bytes, expected ${sizeOf(i)}`);
  const seq = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (seq !== i) throw new Error(`expected sample ${i}, got ${seq}`);
  for (let k = 4; k < bytes.length; k++) if (bytes[k] !== ((i + k) & 255)) throw new Error(`sample ${i}: byte ${k}`);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openSoon(): Promise<Subscriber> {
  for (let tries = 0;; tries++) {
    try {
      return Subscriber.open(name);
    } catch (error) {
      // ENOENT: not created yet; ERR_SERVICE_INVALID: a C creator has not sized the segment yet.
      const code = (error as { code?: string }).code;
      if (tries > 400 || (code !== "ENOENT" && code !== "ERR_SERVICE_INVALID")) throw error;
      await pause(10);
    }
  }
}

switch (op) {
  case "subscribe": {
    const count = Number(args[0]);
    using sub = await openSoon();
    console.error("joined");
    for (let i = 0; i < count; i++) {
      const sample = args[1] === "async" ? await sub.receiveAsync(20_000) : sub.receive(20_000);
      if (!sample) throw new Error(`sample ${i} did not come`);
      check(sample.bytes, sample.sequence);
      if (sample.sequence !== i) throw new Error(`expected sequence ${i}, got ${sample.sequence}`);
      sample.release();
    }
    console.log(JSON.stringify({ received: count, missed: sub.missed }));
    break;
  }
  case "publish": {
    const count = Number(args[0]);
    const subs = Number(args[1] ?? 1);
    using pub = Publisher.create(name, { sampleSize: 128, subscribers: Math.max(subs, 1), depth: 8 });
    while (pub.subscribers < subs) await pause(5);
    for (let i = 0; i < count; i++) {
      const sample = pub.loan();
      fill(sample.bytes, i);
      if (!sample.publish(sizeOf(i), 20_000)) throw new Error(`sample ${i}: no room`);
    }
    while (pub.subscribers > 0) await pause(5);
    console.log(JSON.stringify({ published: count }));
    break;
  }
  case "hold": {
    const sub = await openSoon();
    const sample = sub.receive(20_000);
    console.log(JSON.stringify({ held: sample?.sequence }));
    await pause(60_000);
    break;
  }
  case "serve": {
    const pub = Publisher.create(name, { sampleSize: 64, subscribers: 1, depth: 1, borrows: 1 });
    console.log(JSON.stringify({ ready: true }));
    while (pub.subscribers < 1) await pause(5);
    pub.loan().publish(1);
    await pause(60_000);
    break;
  }
  default:
    throw new Error(`unknown op ${op}`);
}
