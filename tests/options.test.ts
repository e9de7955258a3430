// Options and arguments of every public entry point: unknown keys, read-once, -0, safe messages, huge timeouts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnonymousSegment, Channel, MappedFile, Mutex, notify, Segment, SysvSegment, wait, waitAsync } from "../mod.ts";
import { describe } from "../internal/options.ts";
import { child, ok, OS, runAsync, RUNTIME, shmExists, testName } from "./helpers.ts";
import { fdCount, ipcs, mapsMentioning, ownSegments, testKey } from "./resources.ts";

const linux = OS === "linux";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "shmem-options-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What this process and the system hold that a failed call could leave behind. */
function footprint(name: string, path: string): string {
  return JSON.stringify({
    fds: fdCount(),
    shm: mapsMentioning(`/dev/shm/${name}`),
    memfd: mapsMentioning("memfd:"),
    sysvMaps: mapsMentioning("SYSV"),
    sysv: ownSegments().length,
    file: mapsMentioning(path),
    name: shmExists(name),
    path: existsSync(path),
  });
}

/** Every public entry point that takes an options object, each called with a misspelled key. */
function entryPoints(fixture: {
  name: string;
  fresh: string;
  path: string;
  sysvId: number;
  sysvKey: number;
  handle: string;
  seg: Segment;
}): [what: string, typo: string, hint: string | undefined, call: () => unknown][] {
  const { name, fresh, path, sysvId, sysvKey, handle, seg } = fixture;
  return [
    ["Segment.create", "reserv", "reserve", () => Segment.create(fresh, { size: 4096, reserv: true } as never)],
    ["Segment.create", "Size", "size", () => Segment.create(fresh, { Size: 4096 } as never)],
    [
      "Segment.create",
      "unlinkonexit",
      "unlinkOnExit",
      () => Segment.create(fresh, { size: 4096, unlinkonexit: true } as never),
    ],
    ["Segment.open", "readonly", "readOnly", () => Segment.open(name, { readonly: true } as never)],
    ["Segment.open", "frobnicate", undefined, () => Segment.open(name, { frobnicate: 1 } as never)],
    ["Segment.collect", "grace", "graceMs", () => Segment.collect({ grace: 0 } as never)],
    ["Segment.collect", "dryrun", "dryRun", () => Segment.collect({ dryrun: true } as never)],
    ["SysvSegment.create", "mod", "mode", () => SysvSegment.create({ size: 4096, key: sysvKey + 1, mod: 0 } as never)],
    ["SysvSegment.open", "readonly", "readOnly", () => SysvSegment.open(sysvId, { readonly: true } as never)],
    ["SysvSegment.openKey", "privat", "private", () => SysvSegment.openKey(sysvKey, { privat: true } as never)],
    ["MappedFile.open", "creat", "create", () => MappedFile.open(path, { size: 4096, creat: true } as never)],
    [
      "MappedFile.open",
      "readonly",
      "readOnly",
      () => MappedFile.open(path, { create: true, readonly: false } as never),
    ],
    ["AnonymousSegment.create", "sise", "size", () => AnonymousSegment.create({ size: 4096, sise: 1 } as never)],
    ["AnonymousSegment.open", "readonly", "readOnly", () => AnonymousSegment.open(handle, { readonly: true } as never)],
    ["Channel.create", "capacty", "capacity", () => Channel.create(seg, { capacty: 256 } as never)],
    ["Channel.create", "spinmicros", "spinMicros", () => Channel.create(seg, { spinmicros: 0 } as never)],
    ["Channel.open", "spin", undefined, () => Channel.open(seg, { spin: 0 } as never)],
  ];
}

test("an unknown option is a TypeError naming it and the close known key, and leaves nothing behind", {
  skip: !linux,
}, () => {
  const name = testName();
  const fresh = testName();
  const seg = Segment.create(name, { size: 1 << 16 });
  const sysvKey = testKey();
  const sysv = SysvSegment.create({ size: 4096, key: sysvKey });
  const anon = AnonymousSegment.create({ size: 4096 });
  try {
    withDir((dir) => {
      const path = join(dir, "file.bin");
      const fixture = { name, fresh, path, sysvId: sysv.id, sysvKey, handle: anon.handle, seg };
      const before = footprint(fresh, path);
      for (const [what, typo, hint, call] of entryPoints(fixture)) {
        assert.throws(call, (e: unknown) => {
          assert.ok(e instanceof TypeError, `${what} ${typo}: ${e}`);
          assert.match(e.message, new RegExp(`^Unknown option '${typo}' for ${what.replace(".", "\\.")}`));
          if (hint !== undefined) assert.ok(e.message.endsWith(`: did you mean '${hint}'?`), e.message);
          else assert.match(e.message, /: it takes '/);
          return true;
        });
      }
      assert.equal(footprint(fresh, path), before, "a rejected call left an fd, a mapping, a name or a file");
      assert.equal(ipcs().filter((row) => row.key === sysvKey + 1).length, 0, "no System V segment was created");
      // Channel.create checked its options before writing a header: the memory is still no channel.
      assert.throws(() => Channel.open(seg), /holds no channel/);
    });
  } finally {
    anon.close();
    sysv.remove();
    sysv.close();
    seg.close();
    Segment.unlink(name);
  }
});

test("Segment.open with { readonly: true } reads the exact message the issue asks for", () => {
  assert.throws(
    () => Segment.open(testName(), { readonly: true } as never),
    { name: "TypeError", message: "Unknown option 'readonly' for Segment.open: did you mean 'readOnly'?" },
  );
});

test("options that are not an object are a TypeError, before any system call", () => {
  const name = testName();
  for (const bad of [null, 1, "readOnly", true, 1n, Symbol("x"), [], [["readOnly", true]], () => {}]) {
    assert.throws(() => Segment.open(name, bad as never), (e: unknown) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, /^Segment\.open options must be an object, got /);
      return true;
    });
    assert.throws(() => Segment.create(name, bad as never), TypeError);
    assert.throws(() => Segment.collect(bad as never), TypeError);
  }
  assert.equal(shmExists(name), false);
});

test("inherited keys count, symbol keys are ignored, hidden own keys are checked, null prototypes work", {
  skip: !linux,
}, () => {
  const name = testName();
  using seg = Segment.create(name, { size: 4096 });
  try {
    // An inherited option is used (as in any options bag), and an inherited misspelling is caught.
    using ro = Segment.open(name, Object.create({ readOnly: true }));
    assert.equal(ro.readOnly, true);
    assert.throws(() => Segment.open(name, Object.create({ readonly: true })), /Unknown option 'readonly'/);
    // A symbol key cannot be a misspelled option: it is ignored.
    using tagged = Segment.open(name, { [Symbol("tag")]: 1, readOnly: true } as never);
    assert.equal(tagged.readOnly, true);
    // A non-enumerable own key is still checked.
    const hidden = Object.defineProperty({}, "readonly", { value: true, enumerable: false });
    assert.throws(() => Segment.open(name, hidden), /Unknown option 'readonly'/);
    // A null-prototype record is a fine options object.
    const bare = Object.assign(Object.create(null), { readOnly: true });
    using fromBare = Segment.open(name, bare);
    assert.equal(fromBare.readOnly, true);
    // A key that is not an identifier is quoted safely.
    assert.throws(() => Segment.open(name, { "read\nonly": true } as never), /Unknown option "read\\nonly"/);
    assert.throws(() => Segment.open(name, { "": true } as never), /Unknown option "" for Segment\.open/);
  } finally {
    seg.unlink();
  }
});

/** An options object whose every key is a getter counting its reads. */
function counting<T extends object>(values: T): { options: T; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const options = {} as T;
  for (const [key, value] of Object.entries(values)) {
    counts[key] = 0;
    Object.defineProperty(options, key, {
      enumerable: true,
      get() {
        counts[key]++;
        // After the first read a getter turns hostile: a second read would pass the check and then misbehave.
        return counts[key] === 1 ? value : NaN;
      },
    });
  }
  return { options, counts };
}

function assertReadOnce(what: string, counts: Record<string, number>): void {
  for (const [key, n] of Object.entries(counts)) assert.equal(n, 1, `${what} read option '${key}' ${n} times`);
}

test("every option of every entry point is read exactly once", { skip: !linux }, () => {
  const name = testName();
  const c1 = counting({
    size: 1 << 16,
    mode: 0o600,
    reserve: true,
    track: true,
    unlinkOnExit: false,
    namespace: "local",
  });
  using seg = Segment.create(name, c1.options as never);
  assertReadOnce("Segment.create", c1.counts);
  try {
    const c2 = counting({ readOnly: false, private: false, namespace: "local" });
    Segment.open(name, c2.options as never).close();
    assertReadOnce("Segment.open", c2.counts);

    const c3 = counting({ dryRun: true, graceMs: 0, prefix: `${name}_none_` });
    assert.deepEqual(Segment.collect(c3.options), []);
    assertReadOnce("Segment.collect", c3.counts);

    const key = testKey();
    const c4 = counting({ size: 4096, key, mode: 0o600 });
    using sysv = SysvSegment.create(c4.options);
    sysv.remove();
    assertReadOnce("SysvSegment.create", c4.counts);
    const c5 = counting({ readOnly: false, private: false });
    SysvSegment.open(sysv.id, c5.options).close();
    assertReadOnce("SysvSegment.open", c5.counts);
    const c6 = counting({ readOnly: true, private: false });
    SysvSegment.open(sysv.id, c6.options).close();
    assertReadOnce("SysvSegment.open (read-only)", c6.counts);

    withDir((dir) => {
      const c7 = counting({ size: 4096, create: true, mode: 0o600, readOnly: false, private: false });
      MappedFile.open(join(dir, "f"), c7.options).close();
      assertReadOnce("MappedFile.open", c7.counts);
    });

    const c8 = counting({ size: 4096 });
    using anon = AnonymousSegment.create(c8.options);
    assertReadOnce("AnonymousSegment.create", c8.counts);
    const c9 = counting({ readOnly: false, private: false });
    AnonymousSegment.open(anon.handle, c9.options).close();
    assertReadOnce("AnonymousSegment.open", c9.counts);

    const c10 = counting({ capacity: 256, spinMicros: 0 });
    const ch = Channel.create(seg, c10.options);
    assertReadOnce("Channel.create", c10.counts);
    assert.equal(ch.capacity, 256);
    const c11 = counting({ spinMicros: 0 });
    Channel.open(seg, c11.options);
    assertReadOnce("Channel.open", c11.counts);
  } finally {
    seg.unlink();
  }
});

test("-0 is 0 in every integer option and argument (Deno's FFI rejects -0)", { skip: !linux }, () => {
  const name = testName();
  using seg = Segment.create(name, { size: 4096, mode: -0 });
  try {
    assert.equal(statSync(`/dev/shm/${name}`).mode & 0o777, 0);
    const r = seg.region(-0, 8);
    assert.ok(Object.is(r.offset, 0));
    assert.ok(Object.is(seg.region(8, -0).length, 0));
    assert.ok(Object.is(r.region(-0, -0).offset, 0));
    assert.ok(Object.is(r.region(-0, -0).length, 0));
    const words = seg.region(3072, 8).array(Int32Array);
    assert.equal(wait(words, -0, -0, -0), "timed-out");
    assert.equal(wait(words, -0, 1, -0), "not-equal");
    assert.equal(notify(words, -0, -0), 0);
    assert.equal(notify(words, -0), 0);
    const ch = Channel.create(seg.region(0, 1024));
    assert.equal(ch.send(new Uint8Array(0), -0), true);
    const reserved = ch.reserve(-0, -0);
    assert.ok(reserved !== null);
    ch.commit(-0);
    assert.equal(ch.recv(-0)?.length, 0);
    assert.equal(ch.recv(-0)?.length, 0);
    assert.equal(ch.recv(-0), null);
    const lock = Mutex.init(seg.region(2048, Mutex.BYTES));
    assert.equal(lock.lock(-0), "locked");
    lock.unlock();
    assert.equal(Segment.collect({ dryRun: true, graceMs: -0, prefix: `${name}_none_` }).length, 0);

    using sysv = SysvSegment.create({ size: 4096, mode: -0 });
    sysv.remove();
    sysv.refresh(-0, -0);
    assert.equal(sysv.id >= 0, true);

    withDir((dir) => {
      const path = join(dir, "f");
      using file = MappedFile.open(path, { size: 4096, create: true, mode: -0 });
      assert.equal(statSync(path).mode & 0o777, 0);
      file.flush(-0, -0);
      file.flush(-0);
    });
  } finally {
    seg.unlink();
  }
});

test("messages describe any value safely: BigInt, null prototype, symbols, proxies", { skip: !linux }, () => {
  const name = testName();
  assert.throws(
    () => Segment.create(name, { size: 4096, namespace: 1n } as never),
    { name: "TypeError", message: `Option 'namespace' must be "local" or "global", got 1n` },
  );
  assert.throws(
    () => Segment.open(name, { namespace: Object.create(null) } as never),
    /got an object with a null prototype/,
  );
  assert.equal(shmExists(name), false);
  using seg = Segment.create(name, { size: 4096 });
  try {
    const r = seg.region(0, 16);
    assert.throws(
      () => r.array(Object.create(null)),
      { name: "TypeError", message: /such as Float64Array, got an object with a null prototype$/ },
    );
    assert.throws(() => r.array(Symbol("t") as never), /got Symbol\(t\)$/);
    assert.throws(() => r.array(1n as never), /got 1n$/);
    assert.throws(() => r.array(Array as never), /got the function Array$/);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    assert.throws(() => r.array(proxy as never), /got an object$/);
    assert.throws(
      () => wait(Object.create(null), 0, 0, 0),
      /needs an Int32Array or a Region, got an object with a null/,
    );
    assert.throws(() => wait(proxy as never, 0, 0, 0), TypeError);
    assert.throws(() => notify(new Float64Array(2) as never, 0), /got a Float64Array of length 2$/);
    assert.throws(() => Segment.create(testName(), { size: -0 }), /must be a positive integer, got -0$/);
  } finally {
    seg.unlink();
  }
});

test("describe never throws and names what it got", () => {
  const throwing = new Proxy({}, {
    getPrototypeOf() {
      throw new Error("trap");
    },
  });
  class Thing {}
  const cases: [unknown, string][] = [
    [1n, "1n"],
    [-0, "-0"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    ["a\nb", `"a\\nb"`],
    ["x".repeat(100), JSON.stringify("x".repeat(60) + "…")],
    [Symbol("s"), "Symbol(s)"],
    [undefined, "undefined"],
    [null, "null"],
    [false, "false"],
    [[1, 2, 3], "an array of length 3"],
    [new Uint8Array(4), "a Uint8Array of length 4"],
    [new DataView(new ArrayBuffer(2)), "a DataView"],
    [Object.create(null), "an object with a null prototype"],
    [{}, "an object"],
    [new Map(), "a Map"],
    [new Thing(), "a Thing"],
    [throwing, "an object"],
    [() => {}, "a function"],
    [function named() {}, "the function named"],
  ];
  for (const [value, expected] of cases) assert.equal(describe(value), expected);
  // The value's own methods are never called.
  const hostile = {
    toString() {
      throw new Error("called");
    },
    [Symbol.toPrimitive]() {
      throw new Error("called");
    },
  };
  assert.equal(describe(hostile), "an object");
});

const HUGE = [1e22, Number.MAX_VALUE];

test("a huge finite timeout waits like Infinity: waitAsync, recvAsync, lockAsync", { skip: !linux }, async () => {
  const name = testName();
  using seg = Segment.create(name, { size: 1 << 16 });
  try {
    const words = seg.region(0, 64).array(Int32Array);
    for (const huge of HUGE) {
      Atomics.store(words, 0, 0);
      assert.equal(wait(words, 0, 1, huge), "not-equal");
      const woken = waitAsync(words, 0, 0, huge);
      setTimeout(() => {
        Atomics.store(words, 0, 1);
        notify(words, 0);
      }, 20);
      assert.equal(await woken, "ok");

      const ch = Channel.create(seg.region(1024));
      const got = ch.recvAsync(huge);
      setTimeout(() => ch.send(new Uint8Array(3)), 20);
      assert.equal((await got)?.length, 3);
      assert.equal(await ch.sendAsync(new Uint8Array(1), huge), true);
      assert.equal(ch.recv(huge)?.length, 1);

      const lock = Mutex.init(seg.region(64, Mutex.BYTES));
      assert.equal(lock.lock(huge), "locked");
      const queued = lock.lockAsync(huge);
      setTimeout(() => lock.unlock(), 20);
      assert.equal(await queued, "locked");
      lock.unlock();
    }
  } finally {
    seg.unlink();
  }
});

for (const op of ["wait", "recv", "lock"] as const) {
  test(`a huge finite timeout waits like Infinity: blocking ${op} in a child is woken`, { skip: !linux }, async () => {
    const name = testName();
    using seg = Segment.create(name, { size: 1 << 16 });
    try {
      const words = seg.region(0, 64).array(Int32Array);
      const ch = Channel.create(seg.region(1024));
      const lock = Mutex.init(seg.region(64, Mutex.BYTES));
      for (const huge of HUGE) {
        Atomics.store(words, 0, 0);
        Atomics.store(words, 1, 0);
        if (op === "lock") assert.equal(lock.tryLock(), "locked");
        const done = runAsync(RUNTIME, child("options.ts"), [name, op, String(huge)], 30_000);
        let finished = false;
        done.then(() => (finished = true));
        for (let i = 0; i < 20_000 && Atomics.load(words, 1) === 0 && !finished; i++) await sleep(1);
        await sleep(50); // let the child go to sleep on it
        if (op === "wait") {
          while (!finished && notify(words, 0) === 0) await sleep(5);
        } else if (op === "recv") ch.send(new Uint8Array(5));
        else lock.unlock();
        const out = JSON.parse(ok(await done, `${RUNTIME} ${op} ${huge}`).trim());
        assert.deepEqual(out, { result: op === "wait" ? "ok" : op === "recv" ? 5 : "locked" });
      }
    } finally {
      seg.unlink();
    }
  });
}
