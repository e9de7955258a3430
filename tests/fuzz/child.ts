// Fuzz process: makes <calls> random calls of the public API, seeded, and
// prints one JSON line: calls, errors by class, unexpected errors (with the
// calls before them) and what leaked (descriptors, mappings, names, System V
// segments). Each call is logged to <log> before it runs, so that the driver
// can print the last calls of a crash or a hang.
// Usage: child.ts <seed> <calls> <log> <prefix>
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AnonymousSegment,
  Channel,
  MappedFile,
  type MappedMemory,
  Mutex,
  notify,
  Publisher,
  Region,
  RequestClient,
  RequestServer,
  Segment,
  ShmError,
  Subscriber,
  SysvSegment,
  wait,
  waitAsync,
} from "../../mod.ts";
import { forceGc } from "../children/force_gc.ts";
import { EXPECTED_CODES, Rng } from "./rng.ts";
import { type Fate, Ledger } from "./ledger.ts";
import { type Host, SERVICE_CODES, SERVICE_ORDER, ServiceFuzz } from "./services.ts";

const [seedArg, callsArg, logPath, prefix] = process.argv.slice(2);
const seed = Number(seedArg);
const total = Number(callsArg);
const rng = new Rng(seed);
const log = openSync(logPath, "w");
const dir = join(tmpdir(), prefix);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

const namesLeft = () => readdirSync("/dev/shm").filter((n) => n.startsWith(prefix));
/** System V segments this process created that are not marked for removal (SHM_DEST, 0o1000). */
function sysvOwn(): number[] {
  const lines = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
  return lines.map((l) => l.trim().split(/\s+/))
    .filter((f) => f[4] === String(process.pid) && (parseInt(f[2], 8) & 0o1000) === 0)
    .map((f) => Number(f[1]));
}

interface Memory {
  memory: MappedMemory;
  kind: string;
  /** A buffer of it was moved away: its mapping stays until the process ends (documented). */
  moved: boolean;
  /** What happened to it, kept after it is gone: tells a leaked mapping from one that must stay. */
  fate: Fate;
}
const memories: Memory[] = [];
const regions: Region[] = [];
const arrays: ArrayBufferView[] = [];
const mutexes: Mutex[] = [];
const channels: Channel[] = [];
const names: string[] = [];
const files: string[] = [];
const sysvIds: number[] = [];
const handles: string[] = [];
let movedAway = 0;
/** Taken before any call: what leaks is measured against it. */
const ledger = new Ledger(prefix);
const moved: ArrayBuffer[] = [];

const byClass: Record<string, number> = {};
const unexpected: { call: string; error: string; last: string[] }[] = [];
const recent: string[] = [];
let calls = 0;

function note(what: string): void {
  calls++;
  recent.push(what);
  if (recent.length > 20) recent.shift();
  writeSync(log, `${calls} ${what}\n`);
}

/** What a call may throw besides TypeError and RangeError: ShmError codes, and plain Errors for calls out of order. */
interface Expected {
  readonly codes: ReadonlySet<string>;
  readonly order: RegExp;
}
/** The plain Errors Channel documents for calls out of order (release without recvInPlace, ...). */
const CHANNEL_ORDER = /^(Nothing to (release|commit)|commit\(\) the reserved|release\(\) the message)/;
const MEMORY: Expected = { codes: EXPECTED_CODES, order: CHANNEL_ORDER };
const SERVICES: Expected = { codes: SERVICE_CODES, order: SERVICE_ORDER };

function classify(what: string, error: unknown, expected: Expected = MEMORY): void {
  let key: string;
  if (error instanceof ShmError) {
    key = `ShmError ${error.code}`;
    if (!expected.codes.has(error.code)) fail(what, error);
  } else if (error instanceof TypeError || error instanceof RangeError) key = error.constructor.name;
  else if (error instanceof DOMException && error.name === "DataCloneError") key = "DataCloneError";
  else if (error instanceof Error && error.constructor === Error && expected.order.test(error.message)) {
    key = "Error (call order, documented)";
  } else {
    key = "unexpected";
    fail(what, error);
  }
  byClass[key] = (byClass[key] ?? 0) + 1;
}

function fail(what: string, error: unknown): void {
  if (unexpected.length < 20) {
    unexpected.push({ call: what, error: String((error as Error)?.stack ?? error), last: [...recent] });
  }
}

/** Runs one public call, logged first; only TypeError, RangeError and ShmError with a documented code may escape. */
function call<T>(what: string, body: () => T, expected?: Expected): T | undefined {
  note(what);
  try {
    const r = body();
    byClass.ok = (byClass.ok ?? 0) + 1;
    return r;
  } catch (error) {
    classify(what, error, expected);
    return undefined;
  }
}

async function callAsync<T>(what: string, body: () => Promise<T>, expected?: Expected): Promise<T | undefined> {
  note(what);
  try {
    const r = await body();
    byClass.ok = (byClass.ok ?? 0) + 1;
    return r;
  } catch (error) {
    classify(what, error, expected);
    return undefined;
  }
}

/** Sizes: mostly small, sometimes odd, rarely nonsense. */
function size(): number {
  return rng.pick([
    () => rng.int(1, 4096),
    () => rng.int(1, 1 << 20),
    () => 4096 * rng.int(1, 16),
    () => rng.pick([0, -1, 0.5, NaN, Infinity, 2 ** 53, -0]),
  ])();
}
/** An offset or length around `limit`: in bounds, at the edges, out of bounds, or not a number. */
function bound(limit: number): number {
  return rng.pick([
    () => rng.int(0, limit),
    () => limit,
    () => rng.int(0, 64) * 8,
    () => limit - rng.int(0, 16),
    () => rng.pick([-1, limit + 1, 0.5, NaN, -0, 2 ** 32, Infinity]),
  ])();
}

const TYPES = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

function someMemory(): Memory | undefined {
  return memories.length === 0 ? undefined : rng.item(memories);
}
function someRegion(): Region | undefined {
  const m = someMemory();
  if (regions.length === 0 || (m !== undefined && rng.chance(0.3))) {
    if (m === undefined) return undefined;
    const size = m.memory.closed ? 4096 : m.memory.size;
    const offset = bound(size);
    const r = call(
      `${m.kind}.region(${offset}, ...)`,
      () => rng.chance(0.3) ? m.memory.region(offset) : m.memory.region(offset, bound(size - offset)),
    );
    if (r) regions.push(r);
    return r;
  }
  return rng.item(regions);
}

function open(): void {
  const kind = rng.pick(["segment", "segmentOpen", "sysv", "sysvOpen", "file", "anon", "anonOpen"]);
  const { value: memory, fate } = ledger.track(() => openKind(kind), () => `${calls} ${recent.at(-1)}`);
  if (memory) memories.push({ memory, kind, moved: false, fate });
}

function openKind(kind: string): MappedMemory | undefined {
  const opts = () =>
    rng.pick([{}, { readOnly: true }, { private: true }, { readOnly: true, private: true }, { bogus: 1 }]);
  let memory: MappedMemory | undefined;
  switch (kind) {
    case "segment": {
      const name = `${prefix}_${rng.int(0, 7)}`;
      memory = call(`Segment.create(${name})`, () => Segment.create(name, { size: size(), reserve: rng.chance(0.8) }));
      if (memory && !names.includes(name)) names.push(name);
      break;
    }
    case "segmentOpen": {
      const name = names.length > 0 && rng.chance(0.9) ? rng.item(names) : `${prefix}_none`;
      const o = opts();
      memory = call(`Segment.open(${name}, ${JSON.stringify(o)})`, () => Segment.open(name, o));
      break;
    }
    case "sysv": {
      const seg = call("SysvSegment.create", () => SysvSegment.create({ size: size() }));
      if (seg) sysvIds.push(seg.id);
      memory = seg;
      break;
    }
    case "sysvOpen": {
      if (sysvIds.length === 0) return;
      const id = rng.item(sysvIds);
      const o = opts();
      memory = call(`SysvSegment.open(${id}, ${JSON.stringify(o)})`, () => SysvSegment.open(id, o));
      break;
    }
    case "file": {
      const path = join(dir, `${prefix}.file${rng.int(0, 3)}`);
      const o = rng.pick([{ create: true, size: size() }, { readOnly: true }, { private: true }, {}, {
        create: true,
        readOnly: true,
      }]);
      memory = call(`MappedFile.open(${path}, ${JSON.stringify(o)})`, () => MappedFile.open(path, o));
      if (memory && !files.includes(path)) files.push(path);
      break;
    }
    case "anon": {
      const seg = call("AnonymousSegment.create", () => AnonymousSegment.create({ size: size() }));
      if (seg) handles.push(seg.handle);
      memory = seg;
      break;
    }
    case "anonOpen": {
      if (handles.length === 0) return;
      const handle = rng.item(handles);
      const o = opts();
      memory = call(`AnonymousSegment.open(${handle}, ${JSON.stringify(o)})`, () => AnonymousSegment.open(handle, o));
      break;
    }
  }
  return memory;
}

function views(): void {
  const r = someRegion();
  if (!r) return;
  switch (rng.int(0, 4)) {
    case 0: {
      const a = call("region.bytes()", () => r.bytes());
      if (a) arrays.push(a);
      break;
    }
    case 1: {
      const type = rng.item(TYPES);
      const a = call(`region.array(${type.name})`, () => r.array(type as never) as ArrayBufferView);
      if (a) arrays.push(a);
      break;
    }
    case 2: {
      const v = call("region.view()", () => r.view());
      if (v) arrays.push(v);
      break;
    }
    case 3: {
      const offset = bound(r.length);
      const sub = call(`region.region(${offset}, ...)`, () => r.region(offset, bound(r.length - offset)));
      if (sub) regions.push(sub);
      break;
    }
    case 4:
      call("region.readOnly", () => r.readOnly);
      break;
  }
}

/** Reads and writes through views, also detached ones: never a crash. */
function touch(): void {
  if (moved.length > 0 && rng.chance(0.1)) {
    // A buffer moved away must stay readable whatever became of its memory (closed, dropped, collected).
    const away = rng.item(moved);
    call("touch moved buffer", () => new Uint8Array(away)[rng.int(0, Math.max(0, away.byteLength - 1))]);
  }
  if (arrays.length === 0) return;
  const a = rng.item(arrays);
  call(`touch ${a.constructor.name}`, () => {
    if (a instanceof DataView) {
      if ((a.buffer as ArrayBuffer).detached) return; // a DataView over a detached buffer throws a TypeError for anything
      if (a.byteLength >= 4) a.setUint32(rng.int(0, a.byteLength - 4), rng.int(0, 2 ** 32 - 1));
      return;
    }
    const t = a as Uint8Array;
    if (t.length === 0) return void t[0];
    const i = rng.int(0, t.length - 1);
    const big = t instanceof BigInt64Array || t instanceof BigUint64Array;
    (t as unknown as { [k: number]: unknown })[i] = big ? BigInt(rng.int(0, 255)) : rng.int(0, 255);
    if (t instanceof Int32Array && rng.chance(0.5)) Atomics.add(t, i, 1);
  });
}

async function sync(): Promise<void> {
  const r = someRegion();
  if (!r) return;
  const target = rng.chance(0.5) ? r : (call("region.array(Int32Array)", () => r.array(Int32Array)) ?? r);
  const length = target instanceof Region ? Math.floor(target.length / 4) : target.length;
  const index = rng.chance(0.9) ? rng.int(0, Math.max(0, length - 1)) : bound(length);
  const timeout = rng.pick([0, 1, undefined, -1, NaN, 1e22]);
  switch (rng.int(0, 2)) {
    case 0:
      // A timeout that could block is never given; wait() must return at once on a mismatch or 0.
      call(
        `wait(${index}, ${timeout})`,
        () => wait(target, index, rng.int(0, 3), timeout === 0 || timeout === 1 ? timeout : 0),
      );
      break;
    case 1:
      call(`notify(${index})`, () => notify(target, index, rng.pick([undefined, 1, 0, -1, Infinity])));
      break;
    case 2:
      if (rng.chance(0.1)) {
        await callAsync(`waitAsync(${index})`, () => waitAsync(target, index, rng.int(0, 1), rng.pick([0, 1, 2])));
      }
      break;
  }
}

async function mutex(): Promise<void> {
  if (mutexes.length === 0 || rng.chance(0.2)) {
    const r = someRegion();
    if (!r) return;
    const m = call("Mutex.init", () => (rng.chance(0.5) ? Mutex.init(r) : new Mutex(r)));
    if (m) mutexes.push(m);
    return;
  }
  const m = rng.item(mutexes);
  switch (rng.int(0, 3)) {
    case 0:
      call("mutex.tryLock()", () => m.tryLock());
      break;
    case 1:
      call("mutex.lock(0)", () => m.lock(rng.pick([0, 1])));
      break;
    case 2:
      call("mutex.unlock()", () => m.unlock());
      break;
    case 3:
      if (rng.chance(0.2)) await callAsync("mutex.lockAsync(1)", () => m.lockAsync(rng.pick([0, 1])));
      break;
  }
}

function message(max: number): Uint8Array {
  const n = rng.pick([() => rng.int(0, 64), () => rng.int(0, max), () => max, () => max + rng.int(1, 8)])();
  return new Uint8Array(Math.max(0, n)).fill(n & 255);
}

async function channel(): Promise<void> {
  if (channels.length === 0 || rng.chance(0.1)) {
    const r = someRegion();
    if (!r) return;
    const capacity = rng.pick([undefined, 64, 256, 4096, rng.int(0, 1 << 16) * 8, 100, -8]);
    const spinMicros = rng.pick([0, 1]);
    const c = call(
      `Channel.create(${capacity})`,
      () => rng.chance(0.7) ? Channel.create(r, { capacity, spinMicros }) : Channel.open(r, { spinMicros }),
    );
    if (c) channels.push(c);
    return;
  }
  const c = rng.item(channels);
  const max = (() => {
    try {
      return c.maxMessage;
    } catch {
      return 64;
    }
  })();
  switch (rng.int(0, 8)) {
    case 0:
      call("channel.send", () => c.send(message(max), 0));
      break;
    case 1:
      call("channel.trySend", () => c.trySend(message(max)));
      break;
    case 2:
      call("channel.recv(0)", () => c.recv(0));
      break;
    case 3: {
      const m = call("channel.recvInPlace(0)", () => c.recvInPlace(0));
      if (m && rng.chance(0.5)) void m[0];
      call("channel.release()", () => c.release());
      break;
    }
    case 4: {
      const n = message(max).length;
      const space = call(`channel.reserve(${n}, 0)`, () => c.reserve(n, 0));
      if (space) {
        space.fill(1);
        call("channel.commit()", () => c.commit(rng.chance(0.8) ? undefined : rng.int(0, n + 2)));
      }
      break;
    }
    case 5:
      if (rng.chance(0.1)) await callAsync("channel.recvAsync(1)", () => c.recvAsync(1));
      break;
    case 6:
      if (rng.chance(0.1)) await callAsync("channel.sendAsync", () => c.sendAsync(message(max), 1));
      break;
    case 7:
      if (rng.chance(0.1)) call("channel.close()", () => c.close());
      break;
    case 8:
      call("channel.capacity", () => [c.capacity, c.maxMessage, c.closed]);
      break;
  }
}

/** Moves a buffer away (transfer, structuredClone with transfer) or drops an object unclosed. */
function moveOrDrop(): void {
  const m = someMemory();
  if (!m) return;
  switch (rng.int(0, 3)) {
    case 0:
    case 1: {
      const bytes = call(`${m.kind}.bytes()`, () => m.memory.bytes());
      if (!bytes || bytes.length === 0) return;
      const how = rng.chance(0.5) ? "transfer" : "structuredClone";
      const away = call(
        `buffer ${how}`,
        () =>
          how === "transfer"
            ? (bytes.buffer as ArrayBuffer).transfer()
            : structuredClone(bytes.buffer, { transfer: [bytes.buffer as ArrayBuffer] }) as ArrayBuffer,
      );
      if (away) {
        if (!m.moved) movedAway++;
        m.moved = m.fate.moved = true;
        if (moved.length < 50) moved.push(away);
      }
      break;
    }
    case 2:
      // Dropped unclosed: the GC backstop closes it.
      memories.splice(memories.indexOf(m), 1);
      note(`drop ${m.kind} unclosed${m.moved ? " (moved)" : ""}`);
      if (m.moved) droppedMoved++;
      m.fate.droppedOpen = !m.memory.closed;
      break;
    case 3:
      call(`${m.kind}.close()`, () => m.memory.close());
      break;
  }
}
let droppedMoved = 0;

function misc(): void {
  switch (rng.int(0, 5)) {
    case 0:
      if (names.length > 0) {
        const name = rng.item(names);
        call(`Segment.unlink(${name})`, () => Segment.unlink(name));
      }
      break;
    case 1: {
      const m = someMemory();
      if (m) call(`${m.kind}.pin()`, () => (m.memory.pin().release(), m.fate.pinned = true));
      break;
    }
    case 2: {
      const m = someMemory();
      if (m) call(`${m.kind}.refresh`, () => (m.memory as Segment).refresh?.(bound(m.memory.size)));
      break;
    }
    case 3:
      call("Segment.list()", () => Segment.list().length);
      break;
    case 4: {
      const m = someMemory();
      if (m && m.kind === "file") call("file.flush", () => (m.memory as MappedFile).flush(bound(m.memory.size)));
      break;
    }
    case 5: {
      const m = someMemory();
      if (m) call(`${m.kind}.size`, () => [m.memory.size, m.memory.readOnly, m.memory.closed]);
      break;
    }
  }
}

/** A worker thread opens one of our segments, uses it, and ends with it open (or closed). */
async function worker(): Promise<void> {
  if (names.length === 0) return;
  const name = rng.item(names);
  const close = rng.chance(0.5);
  note(`worker(${name}, close: ${close})`);
  const { Worker } = await import("node:worker_threads");
  const w = new Worker(new URL("./worker.ts", import.meta.url), { workerData: { name, close, seed: rng.int(0, 1e9) } });
  const ended = new Promise((resolve) => w.once("exit", resolve));
  const result = await new Promise<string>((resolve) => {
    w.once("message", resolve);
    w.once("error", (e) => resolve(`error ${e}`));
  });
  await ended;
  if (result !== "ok") fail(`worker(${name})`, result);
}

/** A Channel that a second process scribbles random bytes over while this one uses it. */
async function scribbled(ms: number, budget: number): Promise<void> {
  const name = `${prefix}_scribble`;
  const seg = Segment.create(name, { size: 192 + 4096 });
  names.push(name);
  const ch = Channel.create(seg, { spinMicros: 0 });
  const peer = scribbler(name, ms, "channel");
  const ended = new Promise((resolve) => peer.once("exit", resolve));
  const until = Date.now() + ms;
  let i = 0;
  while (Date.now() < until && calls < budget) {
    const max = 4096 - 8;
    switch (rng.int(0, 3)) {
      case 0:
        call("scribbled.trySend", () => ch.trySend(message(max)));
        break;
      case 1:
        call("scribbled.recv(0)", () => ch.recv(0));
        break;
      case 2:
        call("scribbled.recvInPlace(0)", () => (ch.recvInPlace(0), ch.release()));
        break;
      case 3:
        call("scribbled.send(0)", () => ch.send(message(max), 0));
        break;
    }
    if (++i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  peer.kill("SIGTERM");
  await ended;
  seg.close();
}

/** What the service calls borrow: the same log, classes, ledger and names, with the services' documented codes. */
let serviceCalls = 0;
/** With FUZZ_DEBUG: per service call, how often it returned and how often it threw (is each path reached?). */
const serviceOps: Record<string, [number, number]> = {};
function tallied<T>(what: string, body: () => T): () => T {
  const counts = serviceOps[what.replace(/\(.*$/, "").replace(/ \d+$/, "")] ??= [0, 0];
  counts[1]++;
  return () => {
    const r = body();
    counts[0]++, counts[1]--;
    return r;
  };
}
const host: Host = {
  rng,
  call: (what, body) => (serviceCalls++, call(what, tallied(what, body), SERVICES)),
  callAsync: (what, body) => {
    serviceCalls++;
    const counts = serviceOps[what.replace(/\(.*$/, "")] ??= [0, 0];
    return callAsync(
      what,
      () => body().then((r) => (counts[0]++, r), (e) => (counts[1]++, Promise.reject(e))),
      SERVICES,
    );
  },
  note,
  later: (what, error) => classify(what, error, SERVICES),
  fail,
  track: (open) => ledger.track(open, () => `${calls} ${recent.at(-1)}`),
};
/** Names of segments that are not services, for opens of the wrong thing. */
const plainNames = () => names.filter((n) => !n.includes("_sv"));
const serviceNames = [0, 1, 2, 3].map((i) => `${prefix}_sv${i}`);
const services = new ServiceFuzz(host, serviceNames, plainNames);

/**
 * A publish-subscribe and a request-response service in use, valid at first, that a second process scribbles
 * random bytes and words over (both segments: headers, control areas, queues, records) while this one calls.
 */
async function scribbledServices(ms: number, budget: number): Promise<void> {
  const pub = `${prefix}_svpub`;
  const rr = `${prefix}_svrr`;
  const fuzz = new ServiceFuzz(host, [pub, rr], plainNames);
  names.push(...fuzz.names);
  const start = <T>(pool: { port: T; name: string; fate: Fate }[], name: string, open: () => T) => {
    const { value, fate } = ledger.track(open, () => `${calls} ${recent.at(-1)}`);
    pool.push({ port: value, name, fate });
  };
  start(fuzz.publishers, pub, () =>
    Publisher.create(pub, {
      sampleSize: 512,
      subscribers: 3,
      depth: 4,
      history: 2,
      policy: rng.pick(["block", "drop-oldest"]),
    }));
  start(fuzz.servers, rr, () => RequestServer.serve(rr, { clients: 3, requestSize: 256, inFlight: 2 }));
  for (let i = 0; i < 2; i++) {
    start(fuzz.subscribers, pub, () => Subscriber.open(pub));
    start(fuzz.clients, rr, () => RequestClient.connect(rr));
  }
  const peer = scribbler(`${pub},${rr}`, ms, "service");
  const ended = new Promise((resolve) => peer.once("exit", resolve));
  const until = Date.now() + ms;
  let i = 0;
  while (Date.now() < until && calls < budget) {
    await fuzz.step();
    if (++i % 200 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  peer.kill("SIGTERM");
  await ended;
  await fuzz.closeAll();
}

/** Starts the peer that scribbles over the segments `names` (comma-separated) for `ms` milliseconds. */
function scribbler(names: string, ms: number, mode: "channel" | "service") {
  const exe = process.execPath;
  const args = runtime === "deno" ? ["run", "--allow-all", "--quiet"] : runtime === "bun" ? ["run"] : ["--no-warnings"];
  return spawn(exe, [
    ...args,
    fileURLToPath(new URL("./scribbler.ts", import.meta.url)),
    names,
    String(ms),
    String(seed),
    mode,
  ], {
    stdio: ["ignore", "inherit", "inherit"],
  });
}

// --- the run ---
rmSync(dir, { recursive: true, force: true });
await import("node:fs").then((fs) => fs.mkdirSync(dir, { recursive: true }));
const sysvBefore = sysvOwn().length;
await scribbled(Math.min(5000, 500 + total / 20), total / 10);
await scribbledServices(Math.min(5000, 500 + total / 20), calls + total / 10);
names.push(...services.names);
while (calls < total) {
  const roll = rng.int(0, 99);
  if (roll < 11) open();
  else if (roll < 26) views();
  else if (roll < 42) touch();
  else if (roll < 50) await sync();
  else if (roll < 58) await mutex();
  else if (roll < 72) await channel();
  else if (roll < 86) await services.step();
  else if (roll < 92) moveOrDrop();
  else if (roll < 99) misc();
  else if (rng.chance(0.05)) await worker();
  // Keep the pools bounded: close (or drop) the oldest.
  if (memories.length > 24) {
    const m = memories.shift()!;
    call(`${m.kind}.close()`, () => m.memory.close());
  }
  if (regions.length > 64) regions.splice(0, 32);
  if (arrays.length > 64) arrays.splice(0, 32);
  if (mutexes.length > 16) mutexes.splice(0, 8);
  if (channels.length > 16) channels.splice(0, 8);
  if (calls % 2000 < 2 && rng.chance(0.5)) await forceGc(1, 0);
}

// Clean up through the public API, let the backstop close what was dropped, and compare.
await services.closeAll();
for (const m of memories.splice(0)) call(`${m.kind}.close()`, () => m.memory.close());
regions.length =
  arrays.length =
  mutexes.length =
  channels.length =
    0;
for (const name of names) {
  try {
    Segment.unlink(name);
  } catch (error) {
    if (!(error instanceof ShmError && error.code === "ENOENT")) fail(`unlink ${name}`, error);
  }
}
for (const id of sysvIds) {
  try {
    const seg = SysvSegment.open(id);
    seg.remove();
    seg.close();
  } catch {
    // already removed (its last attachment went away after remove())
  }
}
rmSync(dir, { recursive: true, force: true });
moved.length = 0;
// Only the mappings the documented rules keep may stay (see ledger.ts).
const measure = () => ({
  ...ledger.leaks(),
  names: namesLeft().length,
  sysv: sysvOwn().length - sysvBefore,
});
let leaks = measure();
for (let i = 0; i < 30 && (leaks.fds > 0 || leaks.maps > 0); i++) {
  await forceGc(2, 20);
  leaks = measure();
}
closeSync(log);
if (process.env.FUZZ_DEBUG) {
  console.error(readdirSync("/dev/shm").filter((n) => n.startsWith(prefix)), sysvOwn(), ledger.leakedMaps());
  console.error(serviceOps);
}
const leakedNames = namesLeft().map((n) => n.slice(prefix.length));
console.log(
  JSON.stringify({
    runtime,
    seed,
    calls,
    serviceCalls,
    byClass,
    movedAway,
    droppedMoved,
    unexpected,
    leaks,
    leakedNames,
  }),
);
