// Many pending lockAsync, recvAsync and sendAsync calls on distinct objects in one process:
// what they cost, how they settle after another process acts, and closing under them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel, Mutex, Segment } from "../mod.ts";
import { objectsLayout } from "./children/wait_scale_layout.ts";
import { child, ok, runAsync, RUNTIMES, testName } from "./helpers.ts";

const script = child("wait_scale_objects.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const N = 1000;
const linux = process.platform === "linux";
const layout = objectsLayout(N);

interface Fixture {
  seg: Segment;
  header: Int32Array;
  mutexes: Mutex[];
  channels: Channel[];
}

/** A segment with N Mutexes and N channels, given to `body`, then closed and unlinked. */
async function withObjects(body: (f: Fixture) => Promise<void>): Promise<void> {
  const seg = Segment.create(testName(), { size: layout.size });
  try {
    const mutexes = Array.from({ length: N }, (_, i) => Mutex.init(seg.region(layout.mutex(i), Mutex.BYTES)));
    const channels = Array.from(
      { length: N },
      (_, i) => Channel.create(seg.region(layout.channel(i), layout.channelBytes)),
    );
    await body({ seg, header: seg.region(0, 64).array(Int32Array), mutexes, channels });
  } finally {
    seg.close();
    seg.unlink();
  }
}

async function ready(header: Int32Array): Promise<void> {
  const end = performance.now() + 60_000;
  while (Atomics.load(header, 0) !== 1 && performance.now() < end) await sleep(2);
  if (Atomics.load(header, 0) !== 1) throw new Error("gave up waiting for the child's pending calls");
}

/** Runs the child in `mode` while `act` plays the other process; checks the cost and returns the tally. */
async function scenario(
  runtime: string,
  f: Fixture,
  mode: string,
  act: () => void | Promise<void>,
): Promise<Record<string, number>> {
  const c = runAsync(runtime as typeof RUNTIMES[number], script, [f.seg.name, String(N), mode], 120_000);
  await ready(f.header);
  await act();
  const [cost, tally] = ok(await c, `${runtime} ${mode}`).trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(cost.addedThreads <= 8, `${runtime}: ${cost.addedThreads} more threads for ${N} pending calls (${mode})`);
  assert.ok(cost.addedMiB <= 256, `${runtime}: ${cost.addedMiB.toFixed(1)} MiB more for ${N} pending calls (${mode})`);
  return tally;
}

/** Fills channel `ch`'s ring with 4-byte messages; returns how many went in. */
function fill(ch: Channel): number {
  let k = 0;
  while (ch.trySend(new Uint8Array(4))) k++;
  return k;
}

const closed = JSON.stringify({ rejected: "ERR_USE_AFTER_CLOSE" });

for (const runtime of RUNTIMES) {
  test(`${runtime}: ${N} pending lockAsync on Mutexes another process holds: few threads, each locks once released`, {
    skip: !linux,
  }, async () => {
    await withObjects(async (f) => {
      for (const m of f.mutexes) assert.equal(m.lock(), "locked");
      const tally = await scenario(runtime, f, "lock", () => {
        for (const m of f.mutexes) m.unlock();
      });
      assert.deepEqual(tally, { locked: N });
      for (const m of f.mutexes) assert.equal(m.tryLock(), "locked"); // the child unlocked each
    });
  });

  test(
    `${runtime}: ${N} pending lockAsync reject ERR_USE_AFTER_CLOSE when their memory closes, and the process exits`,
    {
      skip: !linux,
    },
    async () => {
      await withObjects(async (f) => {
        for (const m of f.mutexes) assert.equal(m.lock(), "locked");
        assert.deepEqual(await scenario(runtime, f, "lock-close", () => {}), { [closed]: N });
        for (const m of f.mutexes) m.unlock();
      });
    },
  );

  test(
    `${runtime}: ${N} pending recvAsync on distinct channels: few threads, each gets the message another process sends`,
    {
      skip: !linux,
    },
    async () => {
      await withObjects(async (f) => {
        const tally = await scenario(runtime, f, "recv", () => {
          f.channels.forEach((ch, i) => assert.equal(ch.send(layout.message(i), 10_000), true));
        });
        assert.deepEqual(tally, { received: N });
      });
    },
  );

  test(`${runtime}: ${N} pending sendAsync on full channels: few threads, each sends once another process drains`, {
    skip: !linux,
  }, async () => {
    await withObjects(async (f) => {
      const filled = f.channels.map(fill);
      const tally = await scenario(runtime, f, "send", () => {
        f.channels.forEach((ch, i) => {
          for (let k = 0; k < filled[i]; k++) assert.notEqual(ch.recv(0), null);
        });
      });
      assert.deepEqual(tally, { sent: N });
      f.channels.forEach((ch, i) => assert.deepEqual(ch.recv(0), layout.message(i)));
    });
  });

  test(`${runtime}: ${N} pending recvAsync and sendAsync reject ERR_USE_AFTER_CLOSE when their memory closes`, {
    skip: !linux,
  }, async () => {
    await withObjects(async (f) => {
      f.channels.forEach((ch, i) => i % 2 === 1 && fill(ch));
      assert.deepEqual(await scenario(runtime, f, "chan-close", () => {}), { [closed]: N });
    });
  });
}
