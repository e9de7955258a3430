// Closing a service removes its name only while the name still names it: when the name was removed and another
// process made a new service under it, the old server's or publisher's close leaves the new one's name alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Publisher, RequestClient, RequestServer, Segment, Subscriber } from "../mod.ts";
import { describeService } from "../service/list.ts";
import { child, ok, OS, runAsync, RUNTIME, shmExists, testName } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of ["rr", "ps"] as const) {
  const what = kind === "rr" ? "request-response server" : "publisher";
  test(`${RUNTIME}: a ${what} closing after its name was reused leaves the new service's name`, {
    skip: OS === "linux"
      ? false
      : "a name's segment is compared with a mapping's only where segments are files (Linux)",
  }, async () => {
    const name = testName();
    const a = runAsync(RUNTIME, child("close_replaced.ts"), [kind, name], 60_000);
    let b: { close(): void } | undefined;
    try {
      for (let i = 0; describeService(name) === undefined; i++) {
        assert.ok(i < 3000, "process A never served the name");
        await sleep(10);
      }
      Segment.unlink(name);
      b = kind === "rr"
        ? RequestServer.serve(name, { clients: 1, requestSize: 16 })
        : Publisher.create(name, { sampleSize: 16, subscribers: 1 });
      Segment.create(`${name}_go`, { size: 4096 }).close();
      assert.equal(ok(await a, "process A").trim(), "ready\nclosed");
      assert.ok(shmExists(name), "the new service's name is still there");
      using peer = kind === "rr"
        ? RequestClient.connect(name, { timeoutMs: 2000 })
        : Subscriber.open(name, { timeoutMs: 2000 });
      assert.ok(!peer.closed);
      assert.equal(describeService(name)?.payloadBytes, 16, "B's service, with its live peer");
      b.close();
      b = undefined;
      assert.equal(shmExists(name), false, "its own close removes it");
    } finally {
      b?.close();
      await a.catch(() => {});
      for (const n of [name, `${name}_go`]) if (shmExists(n)) Segment.unlink(n);
    }
  });
}
