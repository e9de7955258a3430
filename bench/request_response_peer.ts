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
import { pingLoop } from "./ping_loop.ts";

const [kind, side, name, bytesArg] = process.argv.slice(2);
const size = Number(bytesArg);
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
/** The second byte of the client's last request: the server answers it and stops. */
const LAST = 1;

if ((kind === "rr" || kind === "keep") && side === "b") {
  const server = RequestServer.serve(name, { clients: 1, requestSize: size, inFlight: 1, detach });
  for (let last = false; !last;) {
    const request = server.receive(30_000);
    if (request === null) throw new Error("no request within 30 s");
    last = request.bytes[1] === LAST;
    const out = request.loanResponse(30_000)!;
    out[0] = request.bytes[0];
    request.sendResponse(size);
  }
  server.receive(1000); // lets the client leave before the name goes
  server.close();
} else if (kind === "rr" || kind === "keep") {
  const client = await retry(() => RequestClient.connect(name, { timeoutMs: 10_000, detach }));
  const exchange = (i: number, mark = 0) => {
    const request = client.loan()!;
    request.bytes[0] = i;
    request.bytes[1] = mark;
    const response = client.requestSync(request, { timeoutMs: 30_000 });
    if (response.bytes[0] !== (i & 255)) throw new Error("wrong answer");
    response.release();
  };
  await pingLoop((i) => exchange(i));
  exchange(0, LAST); // the server stops after answering it
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
  await pingLoop((i) => {
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
