// Child: service ports dropped without close() are closed by their GC backstop as close() closes them, so that
// their peers in this process (which is still alive) see them leave instead of waiting forever:
//   server:     a client's stream with no timeout ends with ERR_SERVER_GONE, and the name is removed;
//   publisher:  a subscriber's receiveAsync with no timeout ends with ERR_PUBLISHER_GONE;
//   client:     the server's connected count falls back to 0;
//   subscriber: the publisher's subscriber count falls back to 0.
// Prints one JSON object of what each case saw. Usage: dropped_ports.ts <name>
import { Publisher, RequestClient, RequestServer, Segment, ShmError, Subscriber } from "../../mod.ts";
import { forceGc } from "./force_gc.ts";

const base = process.argv[2];
const codeOf = (error: unknown) => (error instanceof ShmError ? error.code : String(error));

/** Collects until `done()` holds, at most 40 rounds; whether it held. */
async function collectUntil(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 40 && !done(); i++) await forceGc(1, 25);
  return done();
}

// Made in functions of their own, so that no variable of the caller keeps the dropped port.
function serveAndDrop(name: string): void {
  RequestServer.serve(name, { clients: 2, requestSize: 8 });
}
function publishAndDrop(name: string): void {
  Publisher.create(name, { sampleSize: 8, subscribers: 2 });
}
function connectAndDrop(name: string): void {
  RequestClient.connect(name);
}
function subscribeAndDrop(name: string): void {
  Subscriber.open(name);
}

const seen: Record<string, unknown> = {};

{
  const name = `${base}_server`;
  serveAndDrop(name);
  const client = RequestClient.connect(name);
  let outcome: string | undefined;
  const stream = client.stream(client.loan()!); // no timeout: only the server's leaving ends it
  (async () => {
    for await (const part of stream) part.release();
    return "ended";
  })().then((how) => outcome = how, (error) => outcome = codeOf(error));
  await collectUntil(() => outcome !== undefined);
  let named = true;
  try {
    Segment.open(name).close();
  } catch (error) {
    named = codeOf(error) !== "ENOENT";
  }
  seen.server = { outcome, named };
  client.close();
}

{
  const name = `${base}_pub`;
  publishAndDrop(name);
  const sub = Subscriber.open(name);
  let outcome: string | undefined;
  sub.receiveAsync().then((s) => outcome = `received ${s}`, (error) => outcome = codeOf(error));
  await collectUntil(() => outcome !== undefined);
  seen.publisher = { outcome };
  sub.close();
}

{
  const name = `${base}_client`;
  const server = RequestServer.serve(name, { clients: 2, requestSize: 8 });
  connectAndDrop(name);
  const before = server.connected;
  await collectUntil(() => server.connected === 0);
  seen.client = { before, after: server.connected };
  server.close();
}

{
  const name = `${base}_sub`;
  const pub = Publisher.create(name, { sampleSize: 8, subscribers: 2 });
  subscribeAndDrop(name);
  const before = pub.subscribers;
  await collectUntil(() => pub.subscribers === 0);
  seen.subscriber = { before, after: pub.subscribers };
  pub.close();
}

console.log(JSON.stringify(seen));
