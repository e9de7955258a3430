// Child: one end of a request-response service, printing JSON lines on stdout.
// Usage: reqres_peer.ts <op> <name> [args...]
//   server <clients> <count>  serve, print ready, answer <count> requests (every 5th with a stream of 3), close
//   client <count>            connect, send <count> requests (sync, async and streamed in turn), check every answer
//   hold                      connect, send one request, print ready, then wait to be killed
//   wait                      connect, send one request, await it (10 s at most): prints the error code
//   serve-hold                serve, print ready, take requests without answering, until killed
import { RequestClient, RequestServer, ShmError } from "../../mod.ts";
import type { ReceivedRequest, ReceivedResponse } from "../../mod.ts";

const [op, name, ...args] = process.argv.slice(2);
const out = (v: unknown) => console.log(JSON.stringify(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Request `n`: u32 n, then bytes (n + k) & 255, 8 to 8 + 200 bytes in all. */
const sizeOf = (n: number) => 8 + ((n * 2654435761) >>> 0) % 201;
const streamed = (n: number) => n % 5 === 0;

function sum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) >>> 0;
  return s;
}

/** The server's answer to one request: u32 n, u32 part, u32 sum of the request's bytes. */
function answer(request: ReceivedRequest, part: number, last: boolean): void {
  const bytes = request.bytes;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0, true);
  const slot = request.loanResponse(5000)!;
  const v = new DataView(slot.buffer, slot.byteOffset, 12);
  v.setUint32(0, n, true);
  v.setUint32(4, part, true);
  v.setUint32(8, sum(bytes), true);
  request.sendResponse(12, { last });
}

function check(r: ReceivedResponse, n: number, part: number, expectSum: number): void {
  const b = r.bytes;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (b.length !== 12 || v.getUint32(0, true) !== n || v.getUint32(4, true) !== part) {
    throw new Error(`request ${n} part ${part}: got ${v.getUint32(0, true)}/${v.getUint32(4, true)}`);
  }
  if (v.getUint32(8, true) !== expectSum) throw new Error(`request ${n}: wrong sum`);
  r.release();
}

function fill(client: RequestClient, n: number) {
  const request = client.loan()!;
  const bytes = request.bytes;
  const size = sizeOf(n);
  new DataView(bytes.buffer, bytes.byteOffset, 4).setUint32(0, n, true);
  for (let k = 4; k < size; k++) bytes[k] = (n + k) & 255;
  return { request, size, expectSum: sum(bytes.subarray(0, size)) };
}

const code = (e: unknown) => (e instanceof ShmError ? e.code : String(e));

switch (op) {
  case "server": {
    const [clients, count] = args.map(Number);
    const server = RequestServer.serve(name, { clients, requestSize: 256, responseSize: 16, inFlight: 4 });
    console.log("ready");
    let served = 0;
    for await (const request of server) {
      const n = new DataView(request.bytes.buffer, request.bytes.byteOffset, 4).getUint32(0, true);
      if (streamed(n)) { for (let part = 0; part < 3; part++) answer(request, part, part === 2); }
      else answer(request, 0, true);
      if (++served === count) break;
    }
    await sleep(100);
    server.close();
    out({ served });
    break;
  }
  case "client": {
    const count = Number(args[0]);
    const client = RequestClient.connect(name, { timeoutMs: 10_000 });
    for (let n = 0; n < count; n++) {
      const { request, size, expectSum } = fill(client, n);
      if (streamed(n)) {
        let part = 0;
        for await (const r of client.stream(request, { length: size, timeoutMs: 10_000 })) {
          check(r, n, part++, expectSum);
        }
        if (part !== 3) throw new Error(`request ${n}: ${part} parts`);
      } else if (n % 2 === 0) {
        check(client.requestSync(request, { length: size, timeoutMs: 10_000 }), n, 0, expectSum);
      } else {
        check(await client.request(request, { length: size, timeoutMs: 10_000 }), n, 0, expectSum);
      }
    }
    client.close();
    out({ done: count });
    break;
  }
  case "hold": {
    const client = RequestClient.connect(name, { timeoutMs: 10_000 });
    const pending = client.request(client.loan()!, { length: 1 });
    pending.catch(() => {});
    console.log("ready");
    await sleep(60_000);
    break;
  }
  case "wait": {
    const client = RequestClient.connect(name, { timeoutMs: 10_000 });
    const pending = client.request(client.loan()!, { length: 1, timeoutMs: 10_000 });
    console.log("ready");
    const started = performance.now();
    const error = await pending.then(() => "answered", code);
    out({ error, ms: Math.round(performance.now() - started) });
    client.close();
    break;
  }
  case "serve-hold": {
    const server = RequestServer.serve(name, { clients: 2, requestSize: 64 });
    console.log("ready");
    const held: ReceivedRequest[] = [];
    for await (const request of server) held.push(request);
    break;
  }
  default:
    throw new Error(`unknown op ${op}`);
}
