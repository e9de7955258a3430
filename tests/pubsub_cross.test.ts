// Publish-subscribe across processes, in every runtime pair, and what a SIGKILL leaves behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Publisher, Segment, ShmError, Subscriber } from "../mod.ts";
import { child, command, ok, ROOT, runAsync, RUNTIMES, shmExists, testName } from "./helpers.ts";
import type { Runtime } from "./helpers.ts";

const peer = child("pubsub_peer.ts");
const isCode = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sizeOf = (i: number) => 32 + (i % 64);
const COUNT = 300;

async function until(what: string, done: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(5);
  }
}

/** Publishes COUNT checkable samples, letting the event loop run while a queue is full. */
async function publishAll(pub: Publisher): Promise<void> {
  for (let i = 0; i < COUNT; i++) {
    const s = pub.loan();
    new DataView(s.bytes.buffer, s.bytes.byteOffset, 4).setUint32(0, i, true);
    for (let k = 4; k < sizeOf(i); k++) s.bytes[k] = (i + k) & 255;
    while (!s.publish(sizeOf(i), 0)) await pause(1);
  }
}

/** A child that stays up until it is killed, with its stdout lines. */
function start(runtime: Runtime, args: string[]) {
  const [exe, ...pre] = command(runtime);
  const p = spawn(exe, [...pre, peer, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  p.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => p.on("close", () => resolve()));
  return {
    line: async () => {
      await until(`a line from ${runtime} (${err})`, () => out.includes("\n"));
      return JSON.parse(out.split("\n")[0]);
    },
    kill: async () => {
      p.kill("SIGKILL");
      await exited;
    },
  };
}

for (const runtime of RUNTIMES) {
  test(`pubsub: this process publishes, a ${runtime} subscriber receives every byte (sync and async)`, async () => {
    for (const mode of ["sync", "async"]) {
      const name = testName();
      using pub = Publisher.create(name, { sampleSize: 128, depth: 8 });
      const sub = runAsync(runtime, peer, [name, "subscribe", String(COUNT), mode]);
      await until("the subscriber", () => pub.subscribers === 1);
      await publishAll(pub);
      assert.deepEqual(JSON.parse(ok(await sub, runtime)), { received: COUNT, missed: 0 });
    }
  });

  test(`pubsub: a ${runtime} publisher, this process subscribes with for await`, async () => {
    const name = testName();
    const pub = runAsync(runtime, peer, [name, "publish", String(COUNT)]);
    let sub: Subscriber | undefined;
    await until("the service", () => {
      try {
        sub = Subscriber.open(name);
        return true;
      } catch {
        return false;
      }
    });
    let n = 0;
    for await (const s of sub!) {
      assert.equal(s.sequence, n);
      assert.equal(s.bytes.length, sizeOf(n));
      assert.equal(new DataView(s.bytes.buffer, s.bytes.byteOffset, 4).getUint32(0, true), n);
      assert.equal(s.bytes[s.bytes.length - 1], (n + s.bytes.length - 1) & 255);
      if (++n === COUNT) break;
    }
    sub!.close();
    assert.deepEqual(JSON.parse(ok(await pub, runtime)), { published: COUNT });
  });
}

test("pubsub: one publisher fans out to a Deno, a Bun and a Node subscriber at once", async () => {
  const name = testName();
  using pub = Publisher.create(name, { sampleSize: 128, subscribers: 3, depth: 8 });
  const subs = RUNTIMES.map((r) => runAsync(r, peer, [name, "subscribe", String(COUNT)]));
  await until("three subscribers", () => pub.subscribers === 3);
  await publishAll(pub);
  for (const [k, r] of (await Promise.all(subs)).entries()) {
    assert.deepEqual(JSON.parse(ok(r, RUNTIMES[k])), { received: COUNT, missed: 0 });
  }
});

for (const runtime of RUNTIMES) {
  test(`pubsub: a SIGKILLed ${runtime} subscriber gives back its slot and its samples`, async () => {
    const name = testName();
    using pub = Publisher.create(name, { sampleSize: 64, subscribers: 1, depth: 1, borrows: 1, loans: 1 });
    const holder = start(runtime, [name, "hold"]);
    await until("the subscriber", () => pub.subscribers === 1);
    pub.loan().publish(); // held by the child
    assert.deepEqual(await holder.line(), { held: 0 });
    pub.loan().publish(); // queued for it: its queue is full now
    await holder.kill();
    // Block policy: the dead subscriber's full queue must not stall the publisher.
    assert.equal(pub.loan().publish(1, 5_000), true);
    // The pool has 1·(1 + 1) + 0 + 1 = 3 samples: all back once the dead one is reaped.
    using next = Subscriber.open(name);
    assert.equal(pub.subscribers, 1);
    for (let i = 0; i < 10; i++) {
      assert.equal(pub.loan().publish(1, 1000), true);
      next.receive(1000)!.release();
    }
  });
}

test("pubsub: a SIGKILLed publisher is reported to its subscribers, and gc collects the service", async () => {
  for (const runtime of RUNTIMES) {
    const name = testName();
    const server = start(runtime, [name, "serve"]);
    assert.deepEqual(await server.line(), { ready: true });
    const sub = Subscriber.open(name);
    const first = await sub.receiveAsync(10_000);
    assert.equal(first?.bytes.length, 1);
    first!.release();
    await server.kill();
    await assert.rejects(sub.receiveAsync(10_000), isCode("ERR_PUBLISHER_GONE"));
    assert.throws(() => sub.receive(10_000), isCode("ERR_PUBLISHER_GONE"));
    assert.equal(Segment.collect({ prefix: name, graceMs: 0, dryRun: true }).length, 0, "held by the subscriber");
    sub.close();
    const gone = Segment.collect({ prefix: name, graceMs: 0 });
    assert.deepEqual(gone.map((s) => s.name), [name], runtime);
    assert.equal(shmExists(name), false);
  }
});
