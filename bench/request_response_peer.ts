// One side of a request-response benchmark, in any runtime; bench/request_response.bench.ts runs two of them.
// Usage: <runtime> bench/request_response_peer.ts <case> <a|b> <name-or-socket-path> <bytes>
// Side "a" (the client) measures and prints JSON { samples }: microseconds per round trip, one sample per batch.
//   rr    a RequestServer (side b, synchronous receive) answers a RequestClient (side a, requestSync) with
//         a loaned response of <bytes>; the request is <bytes> too. Zero copy: each side writes one byte of
//         the slot it loaned and reads one byte of the one it received
//   keep  rr with `detach: false` on both sides: the views stay valid until close, so no buffer is renewed
//   sock  the same exchange over a Unix socket (node:net in every runtime): <bytes> each way, every byte copied
import * as net from "node:net";
import { RequestClient, RequestServer } from "../mod.ts";

const [kind, side, name, bytesArg] = process.argv.slice(2);
const size = Number(bytesArg);
const BATCH = 32;
const SAMPLES = 300;
const WARMUP = 1000;
const TOTAL = WARMUP + BATCH * SAMPLES;
const now = () => performance.now();

async function loop(rtt: (i: number) => void | Promise<void>): Promise<void> {
  let i = 0;
  for (; i < WARMUP; i++) await rtt(i);
  const samples: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = now();
    for (let k = 0; k < BATCH; k++, i++) await rtt(i);
    samples.push(((now() - t0) * 1000) / BATCH);
  }
  console.log(JSON.stringify({ samples }));
}

async function retry<T>(connect: () => Promise<T> | T): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await connect();
    } catch (error) {
      if (i > 1000) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const detach = kind !== "keep";

if ((kind === "rr" || kind === "keep") && side === "b") {
  const server = RequestServer.serve(name, { clients: 1, requestSize: size, inFlight: 1, detach });
  for (let i = 0; i < TOTAL; i++) {
    const request = server.receive(30_000);
    if (request === null) throw new Error("no request within 30 s");
    const out = request.loanResponse(30_000)!;
    out[0] = request.bytes[0];
    request.sendResponse(size);
  }
  server.receive(1000); // lets the client leave before the name goes
  server.close();
} else if (kind === "rr" || kind === "keep") {
  const client = await retry(() => RequestClient.connect(name, { timeoutMs: 10_000, detach }));
  await loop((i) => {
    const request = client.loan()!;
    request.bytes[0] = i;
    const response = client.requestSync(request, { timeoutMs: 30_000 });
    if (response.bytes[0] !== (i & 255)) throw new Error("wrong answer");
    response.release();
  });
  client.close();
} else if (kind === "sock" && side === "b") {
  await new Promise<void>((resolve) => {
    const server = net.createServer((s) => {
      let have = 0;
      const answer = new Uint8Array(size);
      s.on("data", (d: Uint8Array) => {
        have += d.length;
        for (; have >= size; have -= size) s.write(answer);
      });
      s.on("error", () => {});
      s.on("close", () => {
        server.close();
        resolve();
      });
    });
    server.listen(name);
  });
} else if (kind === "sock") {
  const socket = await retry(() =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(name, () => resolve(s));
      s.once("error", reject);
    })
  );
  let have = 0;
  let waiting: (() => void) | undefined;
  socket.on("data", (d: Uint8Array) => {
    have += d.length;
    waiting?.();
  });
  const message = new Uint8Array(size);
  await loop((i) => {
    message[0] = i;
    socket.write(message);
    return new Promise<void>((resolve) => {
      const check = () => {
        if (have < size) return;
        have -= size;
        waiting = undefined;
        resolve();
      };
      waiting = check;
      check();
    });
  });
  socket.end();
} else {
  console.error(`unknown case ${kind}`);
  process.exit(2);
}
