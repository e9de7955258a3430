// A new publisher takes over the name of a publisher killed with SIGKILL; live subscribers of the dead one see it
// gone and stay where they are. Two processes racing to take a dead owner's name (publisher or request-response
// server) end with exactly one owner and the other with EEXIST.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Publisher, RequestClient, RequestServer, Segment, ShmError, Subscriber } from "../mod.ts";
import { child, ok, runAsync, RUNTIMES, testName } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";
import { start } from "./live_child.ts";

const script = child("takeover.ts");
const isCode = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;

/** Starts the owner of `name` in `runtime` and kills it with SIGKILL once it is ready. */
async function killedOwner(kind: "rr" | "ps", runtime: Runtime, name: string): Promise<void> {
  const owner = start(runtime, script, [kind, "own", name]);
  try {
    await owner.ready;
  } finally {
    owner.process.kill("SIGKILL");
  }
  await owner.ended;
}

for (const runtime of RUNTIMES) {
  test(`pub-sub: a new publisher takes over the name of a ${runtime} publisher killed with SIGKILL`, async () => {
    const name = testName();
    const owner = start(runtime, script, ["ps", "own", name]);
    let stale: Subscriber | undefined;
    try {
      await owner.ready;
      stale = Subscriber.open(name);
      owner.process.kill("SIGKILL");
      await owner.ended;
      using pub = Publisher.create(name, { sampleSize: 16 });
      using fresh = Subscriber.open(name);
      assert.throws(
        () => stale!.receive(2000),
        isCode("ERR_PUBLISHER_GONE"),
        "the old subscriber sees its publisher gone",
      );
      const sample = pub.loan();
      sample.bytes[0] = 7;
      sample.publish(1);
      using got = fresh.receive(1000)!;
      assert.equal(got.bytes[0], 7);
      assert.equal(pub.subscribers, 1, "the old subscriber did not join the new service");
      assert.throws(() => stale!.receive(500), isCode("ERR_PUBLISHER_GONE"), "and still does not receive from it");
      assert.throws(() => Publisher.create(name, { sampleSize: 16 }), isCode("EEXIST"), "a live publisher keeps it");
    } finally {
      stale?.close();
      owner.process.kill("SIGKILL");
    }
  });
}

test("pub-sub: a closed publisher's name is created again", () => {
  const name = testName();
  Publisher.create(name, { sampleSize: 8 }).close();
  using pub = Publisher.create(name, { sampleSize: 8 });
  assert.equal(pub.sampleSize, 8);
});

test("a name holding a plain segment (no service header, even after a wait) is never taken over", () => {
  const name = testName();
  using seg = Segment.create(name, { size: 4096 });
  try {
    seg.bytes()[100] = 1;
    assert.throws(() => Publisher.create(name, { sampleSize: 8 }), isCode("EEXIST"));
    assert.throws(() => RequestServer.serve(name, { clients: 1, requestSize: 8 }), isCode("EEXIST"));
    assert.equal(Segment.open(name).close(), undefined, "still there");
    assert.equal(seg.bytes()[100], 1);
  } finally {
    Segment.unlink(name);
  }
});

const PAIRS = [["deno", "bun"], ["bun", "node"], ["node", "deno"], ["node", "node"]];

for (const kind of ["ps", "rr"] as const) {
  test(`${kind === "ps" ? "pub-sub" : "request-response"}: two processes taking a dead owner's name over at once end with exactly one owner`, async () => {
    for (const [a, b] of PAIRS) {
      const name = testName();
      await killedOwner(kind, "node", name);
      const at = String(Date.now() + 1500);
      const racers = [
        runAsync(a as Runtime, script, [kind, "race", name, at]),
        runAsync(b as Runtime, script, [kind, "race", name, at]),
      ];
      // While the winner holds the name: a live owner serves it.
      await new Promise((r) => setTimeout(r, 2000));
      if (kind === "rr") RequestClient.connect(name, { timeoutMs: 2000 }).close();
      else Subscriber.open(name).close();
      const results = await Promise.all(racers);
      const lines = results.map((r, i) => JSON.parse(ok(r, [a, b][i]).trim().split("\n").pop()!));
      const won = lines.filter((l) => l.won === true);
      assert.equal(won.length, 1, `${a} and ${b}: ${JSON.stringify(lines)}`);
      const lost = lines.find((l) => l.won !== true);
      assert.equal(lost.code, "EEXIST", JSON.stringify(lost));
      const why = results.map((r) => r.stderr).join("");
      assert.match(lost.message, /is taken: a live (publisher|request-response server) holds it/, why);
    }
  });
}
