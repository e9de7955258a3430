/**
 * The server end of a request-response service.
 *
 * @module
 */
import { Segment, unlinkIfSame } from "../segment.ts";
import { checkBoolean, checkTimeout, describe, readOptions } from "../internal/options.ts";
import type { OptionKeys } from "../internal/options.ts";
import { markServiceReady, SERVICE_FIELD, writeServiceHeader } from "../service/header.ts";
import { claimTakeover, createOrTakeOver } from "../service/takeover.ts";
import type { Verdict } from "../service/takeover.ts";
import { notify } from "../wait.ts";
import { now } from "../platform/mod.ts";
import {
  BLOCK,
  FLAG,
  invalid,
  LAYOUT_OFFSET,
  LAYOUT_VERSION,
  layoutOf,
  MAX_CLIENTS,
  MAX_IN_FLIGHT,
  MAX_PAYLOAD,
  queued,
  readEntry,
  RECORD,
  requestEntryAt,
  responseEntryAt,
  SERVER_STATE,
  writeEntry,
  writeRecord,
} from "./layout.ts";
import type { Entry, Layout } from "./layout.ts";
import { alive, CHECK_MS, closedPort, identity, pidOf, SPIN_MICROS, until, untilAsync } from "./peer.ts";
import { Spinner } from "../internal/wait_loop.ts";
import { blockWord, mapped, mapService, recordWord, ring, SERVER_WORD } from "./service.ts";
import type { Mapped } from "./service.ts";
import { ReceivedRequest, serverFriend } from "./received_request.ts";
import { ClientBlocks } from "./blocks.ts";
import type { Book } from "./blocks.ts";
import { SlotViews } from "../internal/slot_views.ts";
import { guard, unguard } from "../service/backstop.ts";

/** Options of {@link RequestServer.serve}. */
export interface ServeOptions {
  /** Most clients connected at once, 1 to 256. Required. */
  clients: number;
  /** Bytes of one request's payload slot, 1 to 2^30. Required. */
  requestSize: number;
  /** Bytes of one response's payload slot, 1 to 2^30. Default: `requestSize`. */
  responseSize?: number;
  /** Requests one client may have in flight (and responses queued to it), 1 to 64. Default 4. */
  inFlight?: number;
  /** Permission bits of the segment. Default `0o600`. */
  mode?: number;
  /**
   * Whether the views a request and a loaned response hand out are detached
   * (length 0) once the request is answered or released and the response
   * sent. Default true. false saves a buffer transfer per view (about a
   * quarter to a few microseconds, more for large slots on Bun): the views
   * then stay valid until the server closes, and reach memory the client
   * reuses.
   */
  detach?: boolean;
}

const SERVE_KEYS: OptionKeys<ServeOptions> = {
  clients: true,
  requestSize: true,
  responseSize: true,
  inFlight: true,
  mode: true,
  detach: true,
};

function count(value: unknown, name: string, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`Option '${name}' must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`Option '${name}' must be an integer from 1 to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** What a server that wants a name makes of the service `seg` there (see service/takeover.ts). */
function judge(seg: Segment, timeoutMs: number): Verdict {
  const { words, wide } = mapService(seg, timeoutMs);
  const gone = Atomics.load(words, recordWord(RECORD.serverState)) !== SERVER_STATE.serving ||
    !alive(Atomics.load(wide, SERVER_WORD));
  return gone && claimTakeover(wide, (LAYOUT_OFFSET + RECORD.taker) / 8) ? "claimed" : "live";
}

/**
 * The server of a named request-response service: it receives the requests
 * of up to `clients` clients ({@link RequestClient}) in any process and
 * runtime, and answers each with one response or a stream of them. Requests
 * and responses are views into the service's shared memory (no copy).
 *
 * The server frees the slot of a client that leaves or dies (checked about
 * every 50 ms while it receives), dropping its requests, and a connecting
 * client that finds no free slot takes such a slot over itself; clients see the
 * server's own close or death as `ShmError` `ERR_SERVER_GONE`. The layout is
 * specified in docs/request_response.md.
 *
 * @example Answer every request
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
 *
 * const name = uniqueName();
 * using server = RequestServer.serve(name, { clients: 4, requestSize: 64 });
 * using client = RequestClient.connect(name);
 * const request = client.loan()!;
 * request.bytes[0] = 20;
 * const reply = client.request(request, { length: 1, timeoutMs: 5000 });
 * const received = server.receive(1000)!;
 * received.respond(Uint8Array.of(received.bytes[0] + 1));
 * using response = await reply;
 * assert.ok(response.bytes[0] === 21);
 * ```
 */
export class RequestServer {
  /** The service's name. */
  readonly name: string;
  /** Most clients at once. */
  readonly clients: number;
  /** Bytes of a request slot. */
  readonly requestSize: number;
  /** Bytes of a response slot. */
  readonly responseSize: number;
  /** Requests one client may have in flight. */
  readonly inFlight: number;
  readonly #m: Mapped;
  readonly #layout: Layout;
  /** Per client: what this end knows of its block (queue counters, drops owed, the loan). */
  readonly #blocks: ClientBlocks;
  readonly #books: Book[];
  /** Per client: the spin towards it while it runs on another CPU. */
  readonly #spinners: Spinner[];
  readonly #views: SlotViews;
  readonly #bell = recordWord(RECORD.serverBell);
  readonly #sleeping = recordWord(RECORD.serverSleeping);
  readonly #taker = () => this.#take();
  #next = 0;
  #checked = 0;
  #closed = false;

  static {
    const of = (s: object) => s as RequestServer;
    serverFriend.loan = (s, c, gen, ms) => of(s).#loan(c, gen, ms);
    serverFriend.send = (s, c, gen, id, length, flags) => of(s).#send(c, gen, id, length, flags);
    serverFriend.drop = (s, c, gen, id) => of(s).#drop(c, gen, id);
    serverFriend.current = (s, c, gen) => !of(s).#closed && !of(s).#blocks.changed(c) && of(s).#books[c].epoch === gen;
    serverFriend.live = (s) => of(s).#live();
    serverFriend.bytes = (s, at, length) => of(s).#m.seg.region(at, length).bytes();
    serverFriend.view = (s, at, size, length) => of(s).#views.view(at, size, length);
    serverFriend.retire = (s, at) => of(s).#views.retire(at);
  }

  private constructor(name: string, m: Mapped, detach: boolean) {
    this.name = name;
    this.#m = m;
    const l = this.#layout = m.layout;
    this.clients = l.clients;
    this.requestSize = l.requestSize;
    this.responseSize = l.responseSize;
    this.inFlight = l.inFlight;
    this.#views = new SlotViews(m.seg, detach);
    this.#blocks = new ClientBlocks(m, this.#views);
    this.#books = this.#blocks.books;
    const serverCpu = recordWord(RECORD.serverCpu);
    this.#spinners = Array.from({ length: l.clients }, (_, c) => {
      const at = (field: number) => blockWord(l, c, field);
      return new Spinner(m.words, serverCpu, at(BLOCK.cpu), at(BLOCK.sleeping), SPIN_MICROS);
    });
    guard(this, stopServing.bind(null, m));
  }

  /**
   * Creates the named service and serves it. A name whose earlier server
   * closed or died is taken over (its clients see `ERR_SERVER_GONE`); of
   * several processes that take it over at once, exactly one serves it and
   * the others get `EEXIST`.
   *
   * @param name The service's name (a Segment name).
   * @param options `clients` and `requestSize` (required), `responseSize` (default `requestSize`),
   *   `inFlight` (default 4), `mode` (default `0o600`), `detach` (default true).
   * @throws {TypeError|RangeError} for a bad option, before any system call.
   * @throws {ShmError} `EEXIST` when a live server serves the name, another process is taking it
   *   over at the same moment (the message says which), or another segment has the name.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestServer, uniqueName } from "../mod.ts";
   * using server = RequestServer.serve(uniqueName(), { clients: 8, requestSize: 256, inFlight: 2 });
   * assert.ok(server.clients === 8);
   * ```
   */
  static serve(name: string, options: ServeOptions): RequestServer {
    const o = readOptions(options, "RequestServer.serve", SERVE_KEYS);
    const clients = count(o.clients, "clients", MAX_CLIENTS);
    const requestSize = count(o.requestSize, "requestSize", MAX_PAYLOAD);
    const responseSize = count(o.responseSize, "responseSize", MAX_PAYLOAD, requestSize);
    const inFlight = count(o.inFlight, "inFlight", MAX_IN_FLIGHT, 4);
    const mode = o.mode as number | undefined;
    const detach = checkBoolean(o.detach, "detach", true);
    const layout = layoutOf({ clients, inFlight, requestSize, responseSize });
    const create = () => Segment.create(name, { size: layout.totalBytes, mode });
    const seg = createOrTakeOver(name, "request-response server", create, judge);
    const m = mapped(seg, layout);
    const me = identity();
    writeServiceHeader(m.bytes, {
      kind: "request-response",
      version: LAYOUT_VERSION,
      layoutOffset: LAYOUT_OFFSET,
      totalBytes: layout.totalBytes,
      creatorPid: pidOf(me),
    });
    writeRecord(m.view, layout);
    Atomics.store(m.wide, SERVER_WORD, me);
    Atomics.store(m.words, recordWord(RECORD.serverState), SERVER_STATE.serving);
    Atomics.store(m.words, recordWord(RECORD.serverCpu), -1);
    for (let c = 0; c < clients; c++) Atomics.store(m.words, blockWord(layout, c, BLOCK.cpu), -1);
    markServiceReady(m.bytes);
    notify(m.words, SERVICE_FIELD.state / 4);
    return new RequestServer(seg.name, m, detach);
  }

  /** Whether close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many clients are connected now: the slots of clients that left or died are freed first. */
  get connected(): number {
    let n = 0;
    for (let c = 0; c < this.clients; c++) if (!this.#closed && !this.#blocks.gone(c, true)) n++;
    return n;
  }

  #word(client: number, field: number): number {
    return blockWord(this.#layout, client, field);
  }

  /** The spinner towards the client served last (the likeliest to send next), with this thread's CPU noted. */
  #spinner(): Spinner {
    const spinner = this.#spinners[(this.#next + this.clients - 1) % this.clients];
    spinner.note();
    return spinner;
  }

  #live(): void {
    if (this.#closed) throw closedPort(`Request-response server '${this.name}'`);
  }

  /** Takes the next request of any client, in turn; undefined when none is queued. */
  #take(): ReceivedRequest | undefined {
    this.#live();
    const probe = now() - this.#checked >= CHECK_MS;
    if (probe) this.#checked = now();
    const l = this.#layout;
    for (let k = 0; k < l.clients; k++) {
      const c = (this.#next + k) % l.clients;
      if (this.#blocks.gone(c, probe)) continue;
      this.#flush(c);
      const b = this.#books[c];
      const reqHead = this.#word(c, BLOCK.reqHead);
      if (Atomics.load(this.#m.words, reqHead) >>> 0 === b.reqTail || !this.#blocks.enter(c)) continue;
      let entry: Entry;
      try {
        // Under the block's lock: the queue is the client's the records are about, not one being reset.
        const head = Atomics.load(this.#m.words, reqHead);
        if (queued(head, b.reqTail, l.inFlight, `client ${c}'s request queue`) === 0) continue;
        const at = requestEntryAt(l, c, b.reqTail);
        entry = readEntry(this.#m.view, at, l.inFlight, l.requestSize, `a request of client ${c}`);
        if (entry.flags !== 0) throw invalid(`a request of client ${c} has flags ${entry.flags}`);
        b.reqTail = (b.reqTail + 1) >>> 0;
        Atomics.store(this.#m.words, this.#word(c, BLOCK.reqTail), b.reqTail | 0);
      } finally {
        this.#blocks.exit(c);
      }
      this.#next = (c + 1) % l.clients;
      return new ReceivedRequest(this, c, b.epoch, entry, l);
    }
    return undefined;
  }

  /**
   * Takes the next request from any client, waiting up to `timeoutMs`.
   *
   * @param timeoutMs Longest wait. Default `Infinity`; 0 polls.
   * @returns The request, or `null` when the time passed.
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` once closed; `ERR_SERVICE_INVALID` when a client's queue is corrupt.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestServer, uniqueName } from "../mod.ts";
   * using server = RequestServer.serve(uniqueName(), { clients: 1, requestSize: 8 });
   * assert.ok(server.receive(0) === null);
   * ```
   */
  receive(timeoutMs?: number): ReceivedRequest | null {
    const timeout = checkTimeout(timeoutMs, "Receive timeout");
    const spinner = this.#spinner();
    return until(this.#taker, this.#m.words, this.#bell, this.#sleeping, timeout, spinner) ?? null;
  }

  /**
   * Like {@link RequestServer.receive}, without blocking the event loop.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestServer, uniqueName } from "../mod.ts";
   * using server = RequestServer.serve(uniqueName(), { clients: 1, requestSize: 8 });
   * assert.ok((await server.receiveAsync(10)) === null);
   * ```
   */
  async receiveAsync(timeoutMs?: number): Promise<ReceivedRequest | null> {
    const timeout = checkTimeout(timeoutMs, "Receive timeout");
    const spinner = this.#spinner();
    return (await untilAsync(this.#taker, this.#m.words, this.#bell, this.#sleeping, timeout, spinner)) ?? null;
  }

  /**
   * Every request until the server is closed, as they come.
   *
   * @example
   * ```ts
   * import { RequestServer, uniqueName } from "../mod.ts";
   * const server = RequestServer.serve(uniqueName(), { clients: 2, requestSize: 64 });
   * setTimeout(() => server.close(), 20);
   * for await (const request of server) request.respond(request.bytes);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ReceivedRequest, void, undefined> {
    while (!this.#closed) {
      let got: ReceivedRequest | null;
      try {
        got = await this.receiveAsync(CHECK_MS * 4);
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
      if (got !== null) yield got;
    }
  }

  /** Queues the drops owed to client `c` while its response queue has room. */
  #flush(c: number): void {
    const b = this.#books[c];
    while (b.owed.length > 0 && !b.loaned && this.#hasRoom(c)) {
      if (!this.#push(c, b.owed[0], 0, FLAG.last | FLAG.dropped)) return;
      b.owed.shift();
    }
  }

  /** Whether client `c`'s response queue has room (false too when the block changed hands). */
  #hasRoom(c: number): boolean {
    const b = this.#books[c];
    const tail = () => Atomics.load(this.#m.words, this.#word(c, BLOCK.resTail));
    const n = (b.resHead - tail()) >>> 0;
    if (n <= this.inFlight) return n < this.inFlight;
    // Out of range: a client may be taking the slot over; only a check under the lock tells.
    if (!this.#blocks.enter(c)) return false;
    try {
      return queued(b.resHead, tail(), this.inFlight, `client ${c}'s response queue`) < this.inFlight;
    } finally {
      this.#blocks.exit(c);
    }
  }

  /** Waits for room in client `c`'s response queue: the response slot to write, -1 once the client is gone, -2 at the deadline. */
  #loan(c: number, gen: number, timeoutMs: number): number {
    const b = this.#books[c];
    if (b.loaned) throw new Error("sendResponse() the loaned response before answering this client again");
    const room = () => {
      this.#live();
      if (b.epoch !== gen || this.#blocks.gone(c, false)) return -1;
      this.#flush(c);
      if (this.#hasRoom(c) && b.epoch === gen) {
        b.loaned = true;
        return b.resHead % this.inFlight;
      }
      return b.epoch !== gen || this.#blocks.gone(c, true) ? -1 : undefined;
    };
    return until(room, this.#m.words, this.#bell, this.#sleeping, timeoutMs) ?? -2;
  }

  /** Sends the loaned response of client `c`; false when the client has gone meanwhile. */
  #send(c: number, gen: number, id: number, length: number, flags: number): boolean {
    const b = this.#books[c];
    if (this.#closed || b.epoch !== gen) return false;
    b.loaned = false;
    return !this.#blocks.gone(c, false) && this.#push(c, id, length, flags);
  }

  /** Queues a response entry for client `c`; false when the block changed hands (nothing sent). */
  #push(c: number, id: number, length: number, flags: number): boolean {
    const l = this.#layout;
    const b = this.#books[c];
    if (!this.#blocks.enter(c)) return false;
    try {
      const slot = b.resHead % l.inFlight;
      writeEntry(this.#m.view, responseEntryAt(l, c, b.resHead), { id, slot, length, flags });
      b.resHead = (b.resHead + 1) >>> 0;
      Atomics.store(this.#m.words, this.#word(c, BLOCK.resHead), b.resHead | 0);
    } finally {
      this.#blocks.exit(c);
    }
    ring(this.#m.words, this.#word(c, BLOCK.bell), this.#word(c, BLOCK.sleeping));
    return true;
  }

  /** Drops request `id` of client `c` without a response: now when there is room, else at the next chance. */
  #drop(c: number, gen: number, id: number): void {
    if (this.#closed || this.#books[c].epoch !== gen || this.#blocks.gone(c, false)) return;
    this.#books[c].owed.push(id);
    this.#flush(c);
  }

  /**
   * Stops serving: clients see `ERR_SERVER_GONE` (after the responses already
   * sent), the name is removed, and every view of requests is detached. Idempotent.
   * The name is removed only while it still names this service: when somebody
   * removed it and another service was created under it since, that one keeps it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestServer, uniqueName } from "../mod.ts";
   * const server = RequestServer.serve(uniqueName(), { clients: 1, requestSize: 8 });
   * server.close();
   * assert.ok(server.closed);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unguard(this);
    stopServing(this.#m);
  }

  /** Closes (see {@link RequestServer.close}). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The close protocol of a server (its close(), or its GC backstop): remove
 * the name, mark the service closed, ring every client, close the segment.
 */
function stopServing(m: Mapped): void {
  const { words, seg, layout } = m;
  try {
    // While this server still serves, so that no process takes the name over between the check and the removal.
    unlinkIfSame(seg);
  } catch {
    // Not removable (the platform refused): the segment is closed all the same.
  }
  try {
    Atomics.store(words, recordWord(RECORD.serverState), SERVER_STATE.closed);
    for (let c = 0; c < layout.clients; c++) {
      const bell = blockWord(layout, c, BLOCK.bell);
      Atomics.add(words, bell, 1);
      notify(words, bell);
    }
  } finally {
    seg.close();
  }
}
