// The Windows suite's services (imported by suite.ts): a publisher in one
// Windows process and a subscriber in another, then a request server in one and
// a client in another, each pair of two different runtimes. See
// tests/windows/services.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { uniqueName } from "../../mod.ts";
import { ok, runWin, skip } from "./wine.ts";
import type { WinRuntime } from "./wine.ts";

const COUNT = 40;
const PUBSUB_PAIRS: [WinRuntime, WinRuntime][] = [["deno", "bun"], ["node", "deno"], ["bun", "node22"]];
for (const [publisher, subscriber] of PUBSUB_PAIRS) {
  test(`Windows ${publisher} publishes, ${subscriber} subscribes (receiveAsync, for await, close)`, {
    skip,
  }, async () => {
    const name = uniqueName("shmw_");
    const [p, s] = await Promise.all([
      runWin(publisher, "services.ts", ["publisher", name, String(COUNT)]),
      runWin(subscriber, "services.ts", ["subscriber", name, String(COUNT)]),
    ]);
    assert.deepEqual(ok(p, `publisher (${publisher})`), { joined: 1, published: COUNT });
    // Every sample with its bytes; `for await` ends at the publisher's close, and
    // later receives report it gone.
    assert.deepEqual(ok(s, `subscriber (${subscriber})`), {
      received: COUNT,
      problem: "",
      ended: "ok",
      afterAsync: "ERR_PUBLISHER_GONE",
      afterSync: "ERR_PUBLISHER_GONE",
      missed: 0,
    });
  });
}

const REQRES_PAIRS: [WinRuntime, WinRuntime][] = [["bun", "deno"], ["deno", "node"], ["node22", "bun"]];
for (const [server, client] of REQRES_PAIRS) {
  test(`Windows ${server} serves requests from ${client} (answers, timeout, close)`, { skip }, async () => {
    const name = uniqueName("shmw_");
    const [sv, c] = await Promise.all([
      runWin(server, "services.ts", ["server", name, String(COUNT)]),
      runWin(client, "services.ts", ["client", name, String(COUNT)]),
    ]);
    // The server answered every numbered request, closed on the last one, and
    // answering the timed-out one after its close is refused without an error.
    assert.deepEqual(ok(sv, `server (${server})`), {
      answered: COUNT,
      closedOnRequest: true,
      heldAfterClose: "ERR_USE_AFTER_CLOSE",
    });
    assert.deepEqual(ok(c, `client (${client})`), {
      answered: COUNT,
      problem: "",
      timedOut: "ERR_REQUEST_TIMEOUT",
      gone: "ERR_SERVER_GONE",
      afterClose: "ERR_SERVER_GONE",
    });
  });
}
