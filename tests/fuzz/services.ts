// Fuzz calls on services: publish-subscribe (create, open, loan, publish, discard, receive, release, close) and
// request-response (serve, connect, loan, request, requestSync, stream, receive, respond, loanResponse,
// sendResponse, release, close), discovery (listServices, describeService), with random and bad options, services of
// the wrong kind or not services at all, views kept after their sample is gone, sample buffers moved away, and ports
// dropped unclosed. The names are few, so that the calls meet: a subscriber opens what a server serves, a publisher
// creates where one already is.
import {
  listServices,
  type LoanedRequest,
  type LoanedSample,
  Publisher,
  type ReceivedRequest,
  type ReceivedResponse,
  type ReceivedSample,
  RequestClient,
  RequestServer,
  Segment,
  Subscriber,
} from "../../mod.ts";
import { describeService } from "../../service/list.ts";
import { forceGc } from "../children/force_gc.ts";
import type { Fate } from "./ledger.ts";
import type { Rng } from "./rng.ts";

/** What a service call may throw besides TypeError and RangeError: the codes the service classes document. */
export const SERVICE_CODES: ReadonlySet<string> = new Set([
  "ERR_SERVICE_INVALID",
  "ERR_SERVICE_FULL",
  "ERR_SAMPLE_LIMIT",
  "ERR_PUBLISHER_GONE",
  "ERR_SERVER_GONE",
  "ERR_REQUEST_DROPPED",
  "ERR_REQUEST_TIMEOUT",
  "ERR_USE_AFTER_CLOSE",
  "EEXIST",
  "ENOENT",
  "EACCES",
  "ENOSPC",
  "ENOMEM",
]);

/** The plain Errors request-response documents for calls out of order. */
export const SERVICE_ORDER = /^(Nothing to send: loanResponse\(\) first|sendResponse\(\) the loaned response)/;

/** What the fuzz process lends this module. */
export interface Host {
  readonly rng: Rng;
  /** Runs one logged call; returns undefined when it threw (classified against {@link SERVICE_CODES}). */
  call<T>(what: string, body: () => T): T | undefined;
  callAsync<T>(what: string, body: () => Promise<T>): Promise<T | undefined>;
  /** Logs a step that is not a call of the library. */
  note(what: string): void;
  /** Classifies a rejection that comes after its call returned. */
  later(what: string, error: unknown): void;
  /** Records something that must not happen. */
  fail(what: string, error: unknown): void;
  /** Runs an open and ties the mappings it made to a fate (see ledger.ts). */
  track<T>(open: () => T): { value: T; fate: Fate };
}

interface Port<T> {
  readonly port: T;
  readonly name: string;
  readonly fate: Fate;
}

/** A timeout that never blocks long, or one that must be refused before anything waits. */
function timeout(rng: Rng): unknown {
  return rng.chance(0.85) ? rng.pick([0, 0, 1, 2]) : rng.pick([-1, NaN, "1", -Infinity]);
}

/** Values no option of a service takes. */
const BAD: readonly unknown[] = [0, -1, 0.5, NaN, Infinity, 2 ** 31, 2 ** 53, "8", null, {}, -0.5];

/**
 * Options: valid ones mostly (so that the services exist and their calls run), else the same with one option
 * made bad (out of range, of the wrong type, or unknown), which must be refused before anything is created.
 */
function options(rng: Rng, valid: Record<string, unknown>): Record<string, unknown> {
  if (rng.chance(0.8)) return valid;
  const keys = Object.keys(valid);
  const key = rng.chance(0.1) ? "bogus" : rng.item(keys);
  // A timeout so long it means "forever" is valid, and a call given one may wait that long: not one of these.
  const bad = key === "timeoutMs" ? BAD.filter((v) => !(typeof v === "number" && v > 1000)) : BAD;
  return { ...valid, [key]: rng.pick([...bad, "block", true, undefined]) };
}

/** Random service calls over a few names; every port it opened is closed by {@link ServiceFuzz.closeAll}. */
export class ServiceFuzz {
  readonly #h: Host;
  readonly #names: readonly string[];
  readonly #others: () => readonly string[];
  readonly publishers: Port<Publisher>[] = [];
  readonly subscribers: Port<Subscriber>[] = [];
  readonly servers: Port<RequestServer>[] = [];
  readonly clients: Port<RequestClient>[] = [];
  readonly #loans: { sample: LoanedSample; fate: Fate }[] = [];
  readonly #received: { sample: ReceivedSample; fate: Fate }[] = [];
  readonly #requests: { request: LoanedRequest; client: RequestClient }[] = [];
  readonly #inbox: ReceivedRequest[] = [];
  readonly #responses: ReceivedResponse[] = [];
  /** Views kept after their sample was published, released or closed: reading them must never crash. */
  readonly #views: Uint8Array[] = [];
  /** Buffers moved away from a sample: they must stay readable. */
  readonly #moved: ArrayBuffer[] = [];
  /** Requests and streams in flight; each settles within its timeout or when its client closes. */
  readonly #pending = new Set<Promise<unknown>>();
  /** closeAll began: what settles now is released, not kept. */
  #closing = false;

  /**
   * @param names The service names to create and open.
   * @param others Names of segments that are not services (or not these), for opens of the wrong thing.
   */
  constructor(host: Host, names: readonly string[], others: () => readonly string[]) {
    this.#h = host;
    this.#names = names;
    this.#others = others;
  }

  /** Every name this may create: its names, and one that is none of them (where creates meet opens of nothing). */
  get names(): string[] {
    return [...this.#names, `${this.#names[0]}_none`];
  }

  /**
   * A name for a port of one kind: mostly one of that kind's names (the first half of the names are for
   * publish-subscribe, the rest for request-response), else one of the other kind's, a plain segment, or none.
   */
  #name(kind: 0 | 1): string {
    const rng = this.#h.rng;
    const half = Math.ceil(this.#names.length / 2);
    const mine = kind === 0 ? this.#names.slice(0, half) : this.#names.slice(half);
    const roll = rng.next();
    const others = this.#others();
    if (roll < 0.85 || this.#names.length < 2) return rng.item(mine);
    if (roll < 0.93) return rng.item(this.#names);
    if (roll < 0.97 && others.length > 0) return rng.item(others);
    return `${this.#names[0]}_none`;
  }

  /** One random service call. */
  async step(): Promise<void> {
    const rng = this.#h.rng;
    const roll = rng.int(0, 99);
    if (roll < 8) this.createPublisher(this.#name(0));
    else if (roll < 16) this.openSubscriber(this.#name(0));
    else if (roll < 36) this.#publish();
    else if (roll < 52) await this.#receive();
    else if (roll < 57) this.serve(this.#name(1));
    else if (roll < 63) this.connect(this.#name(1));
    else if (roll < 75) this.#request();
    else if (roll < 91) this.#answer();
    else if (roll < 95) this.#touch();
    else if (roll < 97) this.#discover();
    else this.#closeOrDrop();
    this.#bound();
  }

  /** Opens a port through the ledger (so that its mapping is known) and keeps it in `pool`. */
  #open<T>(pool: Port<T>[], what: string, name: string, options: unknown, open: () => T): T | undefined {
    const tracked = this.#h.track(() => this.#h.call(`${what}(${name}, ${show(options)})`, open));
    if (tracked.value) pool.push({ port: tracked.value, name, fate: tracked.fate });
    return tracked.value;
  }

  createPublisher(name: string): Publisher | undefined {
    const rng = this.#h.rng;
    const depth = rng.int(1, 4);
    const valid: Record<string, unknown> = {
      sampleSize: rng.chance(0.8) ? rng.int(1, 512) : rng.int(1, 1 << 16),
      subscribers: rng.int(1, 4),
      depth,
      history: rng.int(0, depth),
      loans: rng.int(1, 3),
      borrows: rng.int(1, 3),
      policy: rng.pick(["block", "drop-oldest"]),
      detach: rng.pick([true, false, undefined]),
      spinMicros: rng.pick([0, 1, undefined]),
    };
    if (rng.chance(0.03)) valid.mode = rng.pick([0o400, 0o644]);
    const o = options(rng, valid);
    return this.#open(this.publishers, `Publisher.create`, name, o, () => Publisher.create(name, o as never));
  }

  openSubscriber(name: string): Subscriber | undefined {
    const rng = this.#h.rng;
    const o = rng.chance(0.2) ? undefined : options(rng, {
      timeoutMs: rng.pick([0, 1, 5]),
      detach: rng.pick([true, false, undefined]),
      spinMicros: rng.pick([0, 1, undefined]),
    });
    return this.#open(this.subscribers, `Subscriber.open`, name, o, () => Subscriber.open(name, o as never));
  }

  serve(name: string): RequestServer | undefined {
    const rng = this.#h.rng;
    const valid: Record<string, unknown> = {
      clients: rng.int(1, 3),
      requestSize: rng.chance(0.8) ? rng.int(1, 256) : rng.int(1, 1 << 16),
      inFlight: rng.int(1, 3),
    };
    if (rng.chance(0.5)) valid.responseSize = rng.int(1, 256);
    if (rng.chance(0.03)) valid.mode = rng.pick([0o400, 0o644]);
    const o = options(rng, valid);
    return this.#open(this.servers, `RequestServer.serve`, name, o, () => RequestServer.serve(name, o as never));
  }

  connect(name: string): RequestClient | undefined {
    const rng = this.#h.rng;
    const o = rng.chance(0.2) ? undefined : options(rng, { timeoutMs: rng.pick([0, 1, 5]) });
    return this.#open(this.clients, `RequestClient.connect`, name, o, () => RequestClient.connect(name, o as never));
  }

  /** Loans, fills, publishes or discards; publishes with bad lengths and timeouts; moves a loan's buffer away. */
  #publish(): void {
    const { rng, call } = this.#h;
    if (this.#loans.length === 0 || rng.chance(0.4)) {
      if (this.publishers.length === 0) return;
      const p = rng.item(this.publishers);
      const sample = call("publisher.loan()", () => p.port.loan());
      if (sample) this.#loans.push({ sample, fate: p.fate });
      return;
    }
    const at = rng.int(0, this.#loans.length - 1);
    const { sample, fate } = this.#loans[at];
    // Its publisher closed: mostly forgotten, sometimes used (each call must refuse it).
    if (!sample.loaned && rng.chance(0.85)) return void this.#loans.splice(at, 1);
    const size = sample.bytes.length;
    switch (rng.int(0, 5)) {
      case 0:
      case 1:
      case 2: {
        const length = rng.chance(0.85) ? rng.int(0, size) : rng.pick([size + 1, -1, 0.5, NaN, undefined]);
        if (size > 0) call("sample.bytes.fill", () => sample.bytes.fill(length as number & 255, 0, Math.min(size, 64)));
        const kept = sample.bytes;
        const ok = call(`sample.publish(${length})`, () => sample.publish(length as number, timeout(rng) as number));
        if (ok) this.#loans.splice(at, 1);
        if (rng.chance(0.3)) this.#views.push(kept);
        break;
      }
      case 3:
        call("sample.discard()", () => sample.discard());
        this.#loans.splice(at, 1);
        break;
      case 4:
        this.#moveAway("loaned", sample.bytes, fate);
        break;
      case 5:
        call("sample.loaned", () => [sample.loaned, sample.bytes.length]);
        break;
    }
  }

  /** Receives (sync and async), reads, releases; keeps views past their release; moves a sample's buffer away. */
  async #receive(): Promise<void> {
    const { rng, call, callAsync } = this.#h;
    if (this.#received.length === 0 || rng.chance(0.6)) {
      if (this.subscribers.length === 0) return;
      const s = rng.item(this.subscribers);
      const t = timeout(rng);
      const got = rng.chance(0.85)
        ? call(`subscriber.receive(${String(t)})`, () => s.port.receive(t as number))
        : await callAsync(`subscriber.receiveAsync(${String(t)})`, () => s.port.receiveAsync(t as number));
      if (got) this.#received.push({ sample: got, fate: s.fate });
      if (rng.chance(0.1)) call("subscriber.missed", () => [s.port.missed, s.port.closed, s.port.name]);
      return;
    }
    const at = rng.int(0, this.#received.length - 1);
    const { sample, fate } = this.#received[at];
    if (sample.released && rng.chance(0.85)) return void this.#received.splice(at, 1);
    switch (rng.int(0, 3)) {
      case 0:
      case 1: {
        const kept = call("received.bytes", () => sample.bytes);
        if (kept && kept.length > 0) void kept[rng.int(0, kept.length - 1)];
        call("received.release()", () => sample.release());
        this.#received.splice(at, 1);
        if (kept && rng.chance(0.3)) this.#views.push(kept);
        break;
      }
      case 2:
        this.#moveAway("received", sample.bytes, fate);
        break;
      case 3:
        call("received.released", () => sample.released);
        break;
    }
  }

  /** Loans and sends requests (async, sync, streamed), with bad lengths, timeouts and requests. */
  #request(): void {
    const { rng, call } = this.#h;
    if (this.#requests.length === 0 || rng.chance(0.35)) {
      if (this.clients.length === 0) return;
      const c = rng.item(this.clients).port;
      const request = call("client.loan()", () => c.loan());
      if (request) this.#requests.push({ request, client: c });
      if (rng.chance(0.1)) call("client.pending", () => [c.pending, c.closed]);
      return;
    }
    const at = rng.int(0, this.#requests.length - 1);
    const { request, client } = this.#requests[at];
    if (client.closed && rng.chance(0.85)) return void this.#requests.splice(at, 1);
    const size = call("request.bytes", () => request.bytes.fill(7, 0, 64).length) ?? 0;
    const length = rng.chance(0.85) ? rng.int(0, size) : rng.pick([size + 1, -1, NaN, "1"]);
    const options = rng.chance(0.1) ? undefined : { length, timeoutMs: rng.pick([0, 5, 50, 200, 1000, -1]) };
    // Another client's request, or one already sent, must be refused.
    const target = rng.chance(0.05) && this.clients.length > 0 ? rng.item(this.clients).port : client;
    switch (rng.int(0, 3)) {
      case 0:
      case 1: {
        const reply = call(`client.request(${show(options)})`, () => target.request(request, options as never));
        if (reply) this.#settle("client.request (settled)", reply.then((r) => this.#keep(r)));
        break;
      }
      case 2: {
        // A sync request waits only when its timeout is finite and short.
        const sync = { length, timeoutMs: rng.pick([0, 1, 2]) };
        const r = call(`client.requestSync(${show(sync)})`, () => target.requestSync(request, sync as never));
        if (r) this.#responses.push(r);
        break;
      }
      case 3: {
        const stream = call(`client.stream(${show(options)})`, () => target.stream(request, options as never));
        if (stream) this.#settle("client.stream (settled)", this.#drain(stream));
        break;
      }
    }
    if (request.sent || rng.chance(0.05)) this.#requests.splice(at, 1); // else it stays loaned, to be sent again
  }

  /** Reads a stream's parts, releasing each; leaves early sometimes. */
  async #drain(stream: AsyncGenerator<ReceivedResponse, void, undefined>): Promise<void> {
    const leave = this.#h.rng.int(1, 4);
    let n = 0;
    for await (const part of stream) {
      void part.bytes[0];
      part.release();
      if (++n >= leave) break;
    }
  }

  /** Receives requests and answers them: respond, loanResponse + sendResponse, streams, release. */
  #answer(): void {
    const { rng, call } = this.#h;
    if (this.#responses.length > 0 && rng.chance(0.3)) {
      const r = this.#responses.splice(rng.int(0, this.#responses.length - 1), 1)[0];
      const kept = call("response.bytes", () => r.bytes);
      if (kept && kept.length > 0) void kept[0];
      call("response.release()", () => r.release());
      if (kept && rng.chance(0.2)) this.#views.push(kept);
      return;
    }
    if (this.#inbox.length === 0 || rng.chance(0.4)) {
      if (this.servers.length === 0) return;
      const s = rng.item(this.servers).port;
      const t = timeout(rng);
      const got = call(`server.receive(${String(t)})`, () => s.receive(t as number));
      if (got) this.#inbox.push(got);
      if (rng.chance(0.1)) call("server.connected", () => [s.connected, s.closed]);
      return;
    }
    const at = rng.int(0, this.#inbox.length - 1);
    const request = this.#inbox[at];
    const last = rng.pick([true, true, false, undefined, 1]);
    switch (rng.int(0, 4)) {
      case 0:
      case 1: {
        const data = new Uint8Array(rng.chance(0.9) ? rng.int(0, 64) : rng.int(0, 9000));
        const sent = call(
          `request.respond(${data.length}, last: ${String(last)})`,
          () => request.respond(data, { last: last as boolean, timeoutMs: timeout(rng) as number }),
        );
        if (sent !== undefined && last !== false) this.#inbox.splice(at, 1);
        break;
      }
      case 2: {
        const out = call("request.loanResponse()", () => request.loanResponse(timeout(rng) as number));
        const length = out ? rng.int(0, out.length + (rng.chance(0.1) ? 1 : 0)) : rng.int(0, 8);
        call(`request.sendResponse(${length})`, () => request.sendResponse(length, { last: last as boolean }));
        break;
      }
      case 3:
        call("request.bytes", () => request.bytes.length > 0 && request.bytes[0]);
        break;
      case 4:
        call("request.release()", () => request.release());
        this.#inbox.splice(at, 1);
        break;
    }
    if (this.#inbox.length > 0 && this.#inbox[0].done) this.#inbox.shift();
  }

  /** Reads and writes views kept past their sample, and buffers moved away. */
  #touch(): void {
    const { rng, call } = this.#h;
    if (this.#moved.length > 0 && rng.chance(0.3)) {
      const away = rng.item(this.#moved);
      call("touch moved sample buffer", () => new Uint8Array(away)[rng.int(0, Math.max(0, away.byteLength - 1))]);
    }
    if (this.#views.length === 0) return;
    const v = rng.item(this.#views);
    call(`touch kept view (${v.length})`, () => {
      if (v.length === 0) return void v[0];
      const i = rng.int(0, v.length - 1);
      v[i] = v[i] + 1;
    });
  }

  #discover(): void {
    const { rng, call } = this.#h;
    if (rng.chance(0.3)) call("listServices()", () => listServices().length);
    else {
      const name = this.#name(rng.chance(0.5) ? 0 : 1);
      call(`describeService(${name})`, () => describeService(name));
    }
  }

  /** Moves a sample's buffer away (the mapping then stays until the process ends: documented). */
  #moveAway(what: string, bytes: Uint8Array, fate: Fate): void {
    const { rng, call } = this.#h;
    if (bytes.length === 0 || rng.chance(0.7)) return;
    const how = rng.chance(0.5) ? "transfer" : "structuredClone";
    const away = call(
      `${what} sample buffer ${how}`,
      () =>
        how === "transfer"
          ? (bytes.buffer as ArrayBuffer).transfer()
          : structuredClone(bytes.buffer, { transfer: [bytes.buffer as ArrayBuffer] }) as ArrayBuffer,
    );
    if (away) {
      fate.moved = true;
      if (this.#moved.length < 20) this.#moved.push(away);
    }
  }

  /** Closes a port, drops it unclosed (the GC backstop unmaps its segment), or removes a name under its ports. */
  #closeOrDrop(): void {
    const { rng, call, note } = this.#h;
    if (rng.chance(0.3)) {
      // As a user clears a name a crashed (or dropped) port left: the live ports keep their memory.
      const name = rng.item(this.names);
      call(`Segment.unlink(${name})`, () => Segment.unlink(name));
      return;
    }
    const pools = [this.publishers, this.subscribers, this.servers, this.clients].filter((p) => p.length > 0);
    if (pools.length === 0) return;
    const pool = rng.item(pools) as Port<{ close(): void }>[];
    const at = rng.int(0, pool.length - 1);
    const p = pool[at];
    if (rng.chance(0.15)) {
      pool.splice(at, 1);
      note(`drop ${p.port.constructor.name}(${p.name}) unclosed`);
      p.fate.droppedOpen = true;
      return;
    }
    call(`${p.port.constructor.name}(${p.name}).close()`, () => p.port.close());
    if (rng.chance(0.8)) pool.splice(at, 1); // else a closed port stays, for calls after close
  }

  /** Keeps the pools bounded: the oldest are closed. */
  #bound(): void {
    const { call } = this.#h;
    for (const pool of [this.publishers, this.subscribers, this.servers, this.clients] as Port<{ close(): void }>[][]) {
      while (pool.length > 6) {
        const p = pool.shift()!;
        call(`${p.port.constructor.name}(${p.name}).close()`, () => p.port.close());
      }
    }
    if (this.#loans.length > 16) this.#loans.splice(0, 8);
    if (this.#received.length > 16) this.#received.splice(0, 8);
    if (this.#requests.length > 16) this.#requests.splice(0, 8);
    if (this.#inbox.length > 16) this.#inbox.splice(0, 8);
    if (this.#responses.length > 16) this.#responses.splice(0, 8);
    if (this.#views.length > 32) this.#views.splice(0, 16);
  }

  /** Keeps a response that came after its call returned; once closeAll began, releases it (it holds its client). */
  #keep(response: ReceivedResponse): void {
    if (this.#closing) response.release();
    else this.#responses.push(response);
  }

  #settle(what: string, promise: Promise<unknown>): void {
    const p = promise.catch((error) => this.#h.later(what, error)).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /**
   * Closes every port and waits for what is in flight: a request or stream
   * still pending `limitMs` after its client closed (or its port was dropped
   * and collected) is a hang.
   */
  async closeAll(limitMs = 5000): Promise<void> {
    const { call } = this.#h;
    this.#closing = true;
    for (const pool of [this.clients, this.subscribers, this.servers, this.publishers] as Port<{ close(): void }>[][]) {
      for (const p of pool.splice(0)) call(`${p.port.constructor.name}(${p.name}).close()`, () => p.port.close());
    }
    // What still holds a port (a received request holds its server) must not keep a dropped one alive.
    this.#loans.length =
      this.#received.length =
      this.#requests.length =
      this.#inbox.length =
      this.#responses.length =
      this.#views.length =
      this.#moved.length =
        0;
    // Ports dropped unclosed leave only once garbage (their GC backstop): collect while anything is in flight.
    const deadline = Date.now() + limitMs;
    while (this.#pending.size > 0 && Date.now() < deadline) await forceGc(1, 50);
    if (this.#pending.size > 0) {
      this.#h.fail("closeAll", `${this.#pending.size} requests or streams still pending ${limitMs} ms after close`);
    }
  }
}

/** Options as a log line (values JSON cannot show, shown by String). */
function show(options: unknown): string {
  if (options === undefined) return "undefined";
  return JSON.stringify(options, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}
