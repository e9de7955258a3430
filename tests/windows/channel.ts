// Windows child (run under Wine by tests/windows/suite.ts): a Channel between
// two Windows processes of different runtimes. The receiver creates the
// segment and the channel (a Windows mapping lives while a handle is open) and
// receives; the sender opens it and sends numbered, checksummed messages of
// varying sizes (some written in place, some copied, some async), then closes,
// which must wake the receiver once it has drained them. Each prints
// `RESULT <json>`.
// Usage: channel.ts receiver <name> <count> | channel.ts sender <name> <count>
import { Channel, Segment, ShmError } from "../../mod.ts";

const [role, name, countText] = process.argv.slice(2);
const count = Number(countText);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const result = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);

/** Size of message `i`: 8 to 8 + 200 bytes, in a pattern with no short period. */
const sizeOf = (i: number) => 8 + ((i * 2654435761) >>> 0) % 201;
const sum = (i: number, n: number) => (Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ n) >>> 0;

function fill(bytes: Uint8Array, i: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint32(0, i, true);
  v.setUint32(4, sum(i, bytes.length), true);
  for (let k = 8; k < bytes.length; k++) bytes[k] = (i + k) & 255;
}

/** The first thing wrong with message `bytes` expected as number `i`, or "". */
function wrong(bytes: Uint8Array, i: number): string {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length !== sizeOf(i)) return `message ${i}: ${bytes.length} bytes`;
  if (v.getUint32(0, true) !== i) return `expected message ${i}, got ${v.getUint32(0, true)}`;
  if (v.getUint32(4, true) !== sum(i, bytes.length)) return `message ${i}: bad checksum`;
  for (let k = 8; k < bytes.length; k++) if (bytes[k] !== ((i + k) & 255)) return `message ${i}: byte ${k}`;
  return "";
}

if (role === "receiver") {
  const seg = Segment.create(name, { size: 64 * 1024 });
  const ch = Channel.create(seg);
  let received = 0;
  let problem = "";
  for (let m = await ch.recvInPlaceAsync(60_000); m !== null; m = await ch.recvInPlaceAsync(60_000)) {
    problem ||= wrong(m, received);
    ch.release();
    received++;
  }
  result({ received, problem, closed: ch.closed });
  seg.close();
} else if (role === "sender") {
  let seg: Segment | undefined;
  for (let i = 0; i < 600 && !seg; i++) {
    try {
      seg = Segment.open(name);
    } catch (error) {
      if (!(error instanceof ShmError && error.code === "ENOENT")) throw error;
      await sleep(20);
    }
  }
  if (!seg) throw new Error(`no segment '${name}'`);
  let ch: Channel | undefined;
  for (let i = 0; i < 600 && !ch; i++) {
    try {
      ch = Channel.open(seg);
    } catch {
      await sleep(10); // the receiver has not laid out the header yet
    }
  }
  if (!ch) throw new Error("no channel");
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) {
      const m = ch.reserve(sizeOf(i), 60_000)!;
      fill(m, i);
      ch.commit();
    } else {
      const m = new Uint8Array(sizeOf(i));
      fill(m, i);
      if (i % 3 === 1) ch.send(m, 60_000);
      else await ch.sendAsync(m, 60_000);
    }
  }
  ch.close();
  result({ sent: count });
  seg.close();
}
