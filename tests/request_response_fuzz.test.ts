// Hostile memory: random words of a live service's control area are overwritten while requests flow. Every call
// must end (each has a short timeout) with a result or a ShmError of a documented code: never a hang, a crash, an
// out-of-bounds read, or another kind of error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RequestClient, RequestServer, Segment, ShmError } from "../mod.ts";
import { layoutOf } from "../request_response/layout.ts";
import { testName } from "./helpers.ts";

const ALLOWED = new Set([
  "ERR_SERVICE_INVALID",
  "ERR_SERVER_GONE",
  "ERR_REQUEST_TIMEOUT",
  "ERR_REQUEST_DROPPED",
  "ERR_USE_AFTER_CLOSE",
]);

/** xorshift32: the same corruptions on every run. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function tolerate(error: unknown, counts: Map<string, number>): void {
  if (!(error instanceof ShmError) || !ALLOWED.has(error.code)) throw error;
  counts.set(error.code, (counts.get(error.code) ?? 0) + 1);
}

test("request-response fuzz: corrupt control words end in results or documented ShmErrors, never a hang", async () => {
  const next = random(0x5eed);
  const shape = { clients: 2, inFlight: 2, requestSize: 32, responseSize: 16 };
  const layout = layoutOf(shape);
  const counts = new Map<string, number>();
  for (let round = 0; round < 150; round++) {
    const name = testName();
    const server = RequestServer.serve(name, shape);
    const client = RequestClient.connect(name);
    const raw = Segment.open(name);
    const words = raw.region(0, layout.payloadAt).array(Int32Array);
    try {
      for (let step = 0; step < 6; step++) {
        const at = 16 + Math.floor(next() * (words.length - 16)); // past the common header's fixed fields
        const values = [0, 1, -1, 2 ** 31 - 1, Math.floor(next() * 2 ** 32) | 0, words[at] + 1];
        words[at] = values[Math.floor(next() * values.length)];
        try {
          const loaned = client.loan();
          const reply = loaned && client.request(loaned, { length: Math.floor(next() * 33), timeoutMs: 20 });
          reply?.catch(() => {});
          const request = server.receive(5);
          if (request !== null) {
            if (next() < 0.2) request.release();
            else request.respond(new Uint8Array(Math.floor(next() * 17)), { timeoutMs: 5, last: next() < 0.7 });
          }
          if (reply) (await reply).release();
        } catch (error) {
          tolerate(error, counts);
        }
      }
    } finally {
      raw.close();
      client.close();
      server.close();
    }
  }
  assert.ok((counts.get("ERR_SERVICE_INVALID") ?? 0) > 0, `corruption was noticed: ${JSON.stringify([...counts])}`);
});
