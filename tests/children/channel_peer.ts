// Child: one end of a Channel in a segment, printing JSON on stdout.
// Usage: channel_peer.ts <segment> <offset> <op> [args...]
//   produce <count> [<offset2>]  send <count> numbered, checksummed messages of varying size
//                                (to a second channel at <offset2> too, alternately)
//   consume <count>              receive and check them; prints {received}
//   produce-async / consume-async  the same with sendAsync / recvAsync
//   big-produce <count> <size>   write <count> messages of <size> bytes in place
//   big-consume <count> <size>   read them in place and check every byte
//   sizes-produce <max>          send one message of every size from 0 to <max> bytes, then close
//   sizes-consume <max>          receive them and check every byte; prints {received}
//   recv-wait                    block in recv() forever; prints what it returned
//   send-wait                    fill the ring, then block in send(); prints the error code
//   recv-timeout <ms>            recv(ms) on an empty channel; prints the result and elapsed ms
import { Channel, Segment } from "../../mod.ts";

const [name, offset, op, ...args] = process.argv.slice(2);
const seg = Segment.open(name);
const ch = Channel.open(seg.region(Number(offset)));

/** Size of message `i`: 8 to 8 + 120 bytes, in a pattern with no short period. */
const sizeOf = (i: number) => 8 + ((i * 2654435761) >>> 0) % 121;

/** Message `i`: u32 seq, u32 checksum of (seq, size), then bytes (seq + k) & 255. */
function fill(bytes: Uint8Array, i: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint32(0, i, true);
  v.setUint32(4, Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ bytes.length, true);
  for (let k = 8; k < bytes.length; k++) bytes[k] = (i + k) & 255;
}

function check(bytes: Uint8Array, i: number): void {
  if (bytes.length !== sizeOf(i)) throw new Error(`message ${i}: size ${bytes.length}, expected ${sizeOf(i)}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = v.getUint32(0, true);
  if (seq !== i) throw new Error(`expected message ${i}, got ${seq}: lost or duplicated`);
  if (v.getUint32(4, true) !== ((Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ bytes.length) >>> 0)) {
    throw new Error(`message ${i}: bad checksum`);
  }
  for (let k = 8; k < bytes.length; k++) {
    if (bytes[k] !== ((i + k) & 255)) throw new Error(`message ${i}: bad byte ${k}`);
  }
}

const out = (value: unknown) => console.log(JSON.stringify(value));

if (op === "produce") {
  const count = Number(args[0]);
  const other = args[1] === undefined ? undefined : Channel.open(seg.region(Number(args[1])));
  for (let i = 0; i < count; i++) {
    for (const c of other ? [ch, other] : [ch]) {
      const m = c.reserve(sizeOf(i))!;
      fill(m, i);
      c.commit();
    }
  }
  ch.close();
  other?.close();
  out({ sent: count });
} else if (op === "consume") {
  const count = Number(args[0]);
  let i = 0;
  for (let m = ch.recvInPlace(); m !== null; m = ch.recvInPlace()) {
    check(m, i++);
    ch.release();
  }
  if (i !== count) throw new Error(`received ${i} messages, expected ${count}`);
  out({ received: i });
} else if (op === "produce-async") {
  const count = Number(args[0]);
  for (let i = 0; i < count; i++) {
    const m = new Uint8Array(sizeOf(i));
    fill(m, i);
    if (!await ch.sendAsync(m)) throw new Error("sendAsync timed out with no timeout");
  }
  ch.close();
  out({ sent: count });
} else if (op === "consume-async") {
  const count = Number(args[0]);
  let i = 0;
  for await (const m of ch) check(m, i++);
  if (i !== count) throw new Error(`received ${i} messages, expected ${count}`);
  out({ received: i });
} else if (op === "big-produce") {
  const [count, size] = args.map(Number);
  for (let i = 0; i < count; i++) {
    const m = ch.reserve(size)!;
    for (let k = 0; k < size; k += 4096) m.fill((i * 7 + k / 4096) & 255, k, k + 4096);
    new DataView(m.buffer, m.byteOffset).setUint32(0, i, true);
    ch.commit();
  }
  ch.close();
  out({ sent: count });
} else if (op === "big-consume") {
  const [count, size] = args.map(Number);
  let i = 0;
  for (let m = ch.recvInPlace(); m !== null; m = ch.recvInPlace(), i++) {
    if (m.length !== size) throw new Error(`message ${i}: ${m.length} bytes, expected ${size}`);
    if (new DataView(m.buffer, m.byteOffset).getUint32(0, true) !== i) throw new Error(`message ${i}: bad sequence`);
    for (let k = 4; k < size; k++) {
      if (m[k] !== ((i * 7 + (k >> 12)) & 255)) throw new Error(`message ${i}: bad byte at ${k}`);
    }
    ch.release();
  }
  if (i !== count) throw new Error(`received ${i} messages, expected ${count}`);
  out({ received: i });
} else if (op === "sizes-produce") {
  const max = Number(args[0]);
  for (let n = 0; n <= max; n++) {
    const m = new Uint8Array(n);
    for (let k = 0; k < n; k++) m[k] = (n + k) & 255;
    if (!ch.send(m, 10_000)) throw new Error(`message of ${n} bytes: no room within 10 s`);
  }
  ch.close();
  out({ sent: max + 1 });
} else if (op === "sizes-consume") {
  const max = Number(args[0]);
  let n = 0;
  for (let m = ch.recv(10_000); m !== null; m = ch.recv(10_000), n++) {
    if (m.length !== n) throw new Error(`message ${n}: ${m.length} bytes`);
    for (let k = 0; k < n; k++) if (m[k] !== ((n + k) & 255)) throw new Error(`message ${n}: bad byte ${k}`);
  }
  if (!ch.closed) throw new Error(`no message within 10 s after ${n}`);
  if (n !== max + 1) throw new Error(`received ${n} messages, expected ${max + 1}`);
  out({ received: n });
} else if (op === "recv-wait") {
  const m = ch.recv();
  out({ result: m === null ? null : Array.from(m), closed: ch.closed });
} else if (op === "send-wait") {
  while (ch.trySend(new Uint8Array(8)));
  try {
    ch.send(new Uint8Array(8));
    out({ result: "sent" });
  } catch (error) {
    out({ code: (error as { code?: string }).code });
  }
} else if (op === "recv-timeout") {
  const ms = Number(args[0]);
  const start = performance.now();
  const m = ch.recv(ms);
  const mid = performance.now();
  const a = await ch.recvAsync(ms);
  out({ result: m, async: a, elapsed: mid - start, elapsedAsync: performance.now() - mid, closed: ch.closed });
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
seg.close();
