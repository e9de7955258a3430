// Windows child (run under Wine by tests/windows/services_suite.ts): one end of
// a publish-subscribe or a request-response service, the other end being a
// Windows process of another runtime. The publisher and the server create the
// service (a Windows mapping lives while a handle is open); the subscriber and
// the client open it, retrying until it exists. Each prints `RESULT <json>`.
// Usage: services.ts publisher|subscriber|server|client <name> <count>
import { Publisher, RequestClient, RequestServer, ShmError, Subscriber } from "../../mod.ts";
import type { ReceivedRequest } from "../../mod.ts";

const [role, name, countText] = process.argv.slice(2);
const count = Number(countText);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const result = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);
const code = (e: unknown) => (e instanceof ShmError ? e.code : `${(e as Error)?.name}: ${(e as Error)?.message}`);

/** Message `i`: u32 i, then bytes (i + k) & 255, 8 to 8 + 100 bytes in all. */
const sizeOf = (i: number) => 8 + ((i * 2654435761) >>> 0) % 101;

function fill(bytes: Uint8Array, i: number, size = sizeOf(i)): void {
  new DataView(bytes.buffer, bytes.byteOffset, 4).setUint32(0, i, true);
  for (let k = 4; k < size; k++) bytes[k] = (i + k) & 255;
}

/** The first thing wrong with `bytes` expected as message `i`, or "". */
function wrong(bytes: Uint8Array, i: number, size = sizeOf(i)): string {
  if (bytes.length !== size) return `message ${i}: ${bytes.length} bytes, expected ${size}`;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (n !== i) return `expected message ${i}, got ${n}`;
  for (let k = 4; k < size; k++) if (bytes[k] !== ((i + k) & 255)) return `message ${i}: byte ${k}`;
  return "";
}

/** Retries `open` while the other process has not created the service yet. */
async function openSoon<T>(open: () => T): Promise<T> {
  for (let tries = 0;; tries++) {
    try {
      return open();
    } catch (error) {
      const c = error instanceof ShmError ? error.code : "";
      if (tries > 1500 || (c !== "ENOENT" && c !== "ERR_SERVICE_INVALID")) throw error;
      await sleep(20);
    }
  }
}

/** Where an awaited call ends: "ok", or the error's code. */
async function settle(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    return code(error);
  }
}

// Request tags past the numbered ones.
const SLOW = 0xffff0001; // the server holds it unanswered: the client times out
const CLOSE = 0xffff0002; // the server closes while it is pending

if (role === "publisher") {
  const pub = Publisher.create(name, { sampleSize: 128, subscribers: 1, depth: 4 });
  for (let i = 0; i < 3000 && pub.subscribers < 1; i++) await sleep(20);
  const joined = pub.subscribers;
  let published = 0;
  for (let i = 0; i < count; i++) {
    const s = pub.loan();
    fill(s.bytes, i);
    // Block policy: waits (60 s at most) while the subscriber's queue is full.
    if (!s.publish(sizeOf(i), 60_000)) break;
    published++;
  }
  // Closed at once: the subscriber drains what is still queued, then finds it gone.
  pub.close();
  result({ joined, published });
} else if (role === "subscriber") {
  const sub = await openSoon(() => Subscriber.open(name));
  let received = 0;
  let problem = "";
  // The first half by receiveAsync, the rest by `for await`, which ends when the publisher closes.
  for (; received < count / 2; received++) {
    const s = await sub.receiveAsync(60_000);
    if (!s) {
      problem ||= `sample ${received} did not come`;
      break;
    }
    problem ||= wrong(s.bytes, received) || (s.sequence !== received ? `sequence ${s.sequence}` : "");
    s.release();
  }
  let ended = "ok";
  try {
    for await (const s of sub) {
      problem ||= wrong(s.bytes, received) || (s.sequence !== received ? `sequence ${s.sequence}` : "");
      received++;
    }
  } catch (error) {
    ended = code(error);
  }
  const afterAsync = await settle(sub.receiveAsync(5_000));
  const afterSync = await settle(Promise.resolve().then(() => sub.receive(5_000)));
  sub.close();
  result({ received, problem, ended, afterAsync, afterSync, missed: sub.missed });
} else if (role === "server") {
  const server = RequestServer.serve(name, { clients: 1, requestSize: 128, responseSize: 128, inFlight: 4 });
  let answered = 0;
  let held: ReceivedRequest | undefined;
  let closedOnRequest = false;
  for await (const request of server) {
    const n = new DataView(request.bytes.buffer, request.bytes.byteOffset, 4).getUint32(0, true);
    if (n === SLOW) {
      held = request; // never answered before the client's deadline
    } else if (n === CLOSE) {
      closedOnRequest = true;
      break;
    } else {
      // The answer is the request's bytes with its number, then bytes of the next message.
      const answer = new Uint8Array(sizeOf(n + 1));
      fill(answer, n + 1);
      request.respond(answer);
      answered++;
    }
  }
  server.close();
  // Answering a request held past the client's deadline, after the close: what respond returns, or its error
  // (documented: ERR_USE_AFTER_CLOSE, as every use of a closed port).
  let heldAfterClose = "none";
  try {
    if (held) heldAfterClose = String(held.respond(Uint8Array.of(1)));
  } catch (error) {
    heldAfterClose = code(error);
  }
  result({ answered, closedOnRequest, heldAfterClose });
} else if (role === "client") {
  const client = await openSoon(() => RequestClient.connect(name, { timeoutMs: 1_000 }));
  let answered = 0;
  let problem = "";
  for (let i = 0; i < count; i++) {
    const request = client.loan()!;
    fill(request.bytes, i);
    const options = { length: sizeOf(i), timeoutMs: 60_000 };
    const r = i % 2 ? client.requestSync(request, options) : await client.request(request, options);
    problem ||= wrong(r.bytes, i + 1);
    r.release();
    answered++;
  }
  const tagged = (tag: number) => {
    const request = client.loan()!;
    new DataView(request.bytes.buffer, request.bytes.byteOffset, 4).setUint32(0, tag, true);
    return request;
  };
  const timedOut = await settle(client.request(tagged(SLOW), { length: 4, timeoutMs: 300 }));
  const gone = await settle(client.request(tagged(CLOSE), { length: 4, timeoutMs: 60_000 }));
  const loan = client.loan();
  const afterClose = loan
    ? await settle(Promise.resolve().then(() => client.requestSync(loan, { length: 4, timeoutMs: 5_000 })))
    : "no loan";
  client.close();
  result({ answered, problem, timedOut, gone, afterClose });
}
