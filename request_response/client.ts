/**
 * The client end of a request-response service.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { checkBoolean, checkTimeout, describe, readOptions } from "../internal/options.ts";
import type { OptionKeys } from "../internal/options.ts";
import { now } from "../platform/mod.ts";
import {
  BLOCK,
  FLAG,
  invalid,
  queued,
  readEntry,
  RECORD,
  requestEntryAt,
  requestSlotAt,
  responseEntryAt,
  responseSlotAt,
  writeEntry,
} from "./layout.ts";
import type { Layout } from "./layout.ts";
import { CHECK_MS, closedPort, SPIN_MICROS, timedOut, until, untilAsync } from "./peer.ts";
import { Spinner } from "../internal/wait_loop.ts";
import { blockWord, openService, recordWord, ring } from "./service.ts";
import { checkServer, claim } from "./claim.ts";
import type { Mapped } from "./service.ts";
import { clientFriend, LoanedRequest, ReceivedResponse } from "./messages.ts";
import { SlotViews } from "../internal/slot_views.ts";
import { guard, unguard } from "../service/backstop.ts";

/** Options of {@link RequestClient.connect}. */
export interface ConnectOptions {
  /** Longest wait for a free client slot (and for a server still laying out), in milliseconds. Default 1000. */
  timeoutMs?: number;
  /**
   * Whether the views a loaned request and a response hand out are detached
   * (length 0) once the request is sent and the response released. Default
   * true. false saves a buffer transfer per view: the views then stay valid
   * until the client closes, and reach memory the server reuses.
   */
  detach?: boolean;
}

/** Options of {@link RequestClient.request}, {@link RequestClient.requestSync} and {@link RequestClient.stream}. */
export interface RequestOptions {
  /** Bytes of the loaned slot to send. Default: the whole slot (`requestSize`). */
  length?: number;
  /** Longest wait for a response (for each response of a stream), in milliseconds. Default `Infinity`. */
  timeoutMs?: number;
}

const CONNECT_KEYS: OptionKeys<ConnectOptions> = { timeoutMs: true, detach: true };
const REQUEST_KEYS: OptionKeys<RequestOptions> = { length: true, timeoutMs: true };

/** A request in flight. */
interface Pending {
  readonly slot: number;
  readonly responses: ReceivedResponse[];
  error: ShmError | undefined;
  /** Its last response came (its request slot is free again). */
  done: boolean;
  /** Nobody waits for it any more: its responses are released as they come. */
  abandoned: boolean;
}

function dropped(id: number): ShmError {
  return new ShmError({
    code: "ERR_REQUEST_DROPPED",
    errno: 0,
    message: `The server released request ${id} without a response`,
    hint: "",
  });
}

/**
 * A client of a named request-response service ({@link RequestServer}).
 * Loan a request buffer, fill it, send it, and await its response (or a
 * stream of them): correlation is automatic, every wait has a timeout, and
 * a server that closes or dies fails the requests in flight with `ShmError`
 * `ERR_SERVER_GONE` instead of hanging. A client holds one of the service's
 * client slots until it closes (or dies: the server then frees it).
 *
 * @example Ask and wait
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
 *
 * const name = uniqueName();
 * using server = RequestServer.serve(name, { clients: 2, requestSize: 64 });
 * using client = RequestClient.connect(name);
 * const request = client.loan()!;
 * request.bytes.set(new TextEncoder().encode("ping"));
 * const reply = client.request(request, { length: 4, timeoutMs: 5000 });
 * const received = server.receive(1000)!;
 * received.respond(new TextEncoder().encode("pong"));
 * using response = await reply;
 * assert.ok(new TextDecoder().decode(response.bytes) === "pong");
 * ```
 */
export class RequestClient {
  /** The service's name. */
  readonly name: string;
  /** Bytes of a request slot. */
  readonly requestSize: number;
  /** Bytes of a response slot. */
  readonly responseSize: number;
  /** Requests this client may have in flight. */
  readonly inFlight: number;
  /** This client's slot (0 to clients − 1). */
  readonly slot: number;
  readonly #m: Mapped;
  readonly #layout: Layout;
  readonly #free: number[];
  readonly #pending = new Map<number, Pending>();
  readonly #releasedAt: boolean[];
  readonly #spinner: Spinner;
  readonly #views: SlotViews;
  #nextId = 1;
  #reqHead = 0;
  #read = 0;
  #resTail = 0;
  #checked = 0;
  #loans = 0;
  #closed = false;

  static {
    clientFriend.view = (c, at, size, length) => (c as RequestClient).#views.view(at, size, length);
    clientFriend.release = (c, position, at) => (c as RequestClient).#release(position, at);
  }

  private constructor(name: string, m: Mapped, slot: number, detach: boolean) {
    this.name = name;
    this.#m = m;
    const l = this.#layout = m.layout;
    this.slot = slot;
    this.requestSize = l.requestSize;
    this.responseSize = l.responseSize;
    this.inFlight = l.inFlight;
    this.#free = Array.from({ length: l.inFlight }, (_, i) => l.inFlight - 1 - i);
    this.#releasedAt = new Array(l.inFlight).fill(false);
    this.#views = new SlotViews(m.seg, detach);
    const at = (field: number) => blockWord(l, slot, field);
    this.#spinner = new Spinner(
      m.words,
      at(BLOCK.cpu),
      recordWord(RECORD.serverCpu),
      recordWord(RECORD.serverSleeping),
      SPIN_MICROS,
    );
    guard(this, leave.bind(null, m, slot));
  }

  /**
   * Connects to the named service, taking a free client slot, or else the
   * slot of a client that left or died (without waiting for the server).
   *
   * @param options `timeoutMs` (default 1000): how long to wait for a slot to become free;
   *   `detach` (default true): whether views detach once sent or released.
   * @throws {ShmError} `ENOENT` when nothing has the name, `ERR_SERVER_GONE` when its server
   *   closed or died, `ERR_SERVICE_FULL` when every slot stays taken, `ERR_SERVICE_INVALID` when it is corrupt.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 8 });
   * using client = RequestClient.connect(name, { timeoutMs: 100 });
   * assert.ok(server.connected === 1);
   * ```
   */
  static connect(name: string, options?: ConnectOptions): RequestClient {
    const o = readOptions(options, "RequestClient.connect", CONNECT_KEYS);
    const timeout = checkTimeout(o.timeoutMs ?? 1000, "Connect timeout");
    const detach = checkBoolean(o.detach, "detach", true);
    const m = openService(name, timeout);
    try {
      const slot = until(() => claim(m, name), m.words, recordWord(RECORD.serverState), -1, timeout, undefined, 10);
      if (slot === undefined) {
        throw new ShmError({
          code: "ERR_SERVICE_FULL",
          errno: 0,
          message: `All ${m.layout.clients} client slots of '${name}' are taken`,
          hint: "Close a client, or serve the service with more clients",
        });
      }
      return new RequestClient(m.seg.name, m, slot, detach);
    } catch (error) {
      m.seg.close();
      throw error;
    }
  }

  /** Whether close() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Requests sent whose last response has not come yet. */
  get pending(): number {
    return this.inFlight - this.#free.length - this.#loans;
  }

  #word(field: number): number {
    return blockWord(this.#layout, this.slot, field);
  }

  #live(): void {
    if (this.#closed) throw closedPort(`Request-response client of '${this.name}'`);
  }

  /**
   * Loans a request slot to fill.
   *
   * @returns The request, or `null` when `inFlight` requests are loaned or in flight.
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` once closed.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 8, inFlight: 1 });
   * using client = RequestClient.connect(name);
   * const first = client.loan();
   * assert.ok(first !== null && client.loan() === null);
   * ```
   */
  loan(): LoanedRequest | null {
    this.#live();
    this.#poll();
    const slot = this.#free.pop();
    if (slot === undefined) return null;
    this.#loans++;
    return new LoanedRequest(this, slot, requestSlotAt(this.#layout, this.slot, slot), this.requestSize);
  }

  /** Sends `request`; returns its id. */
  #send(request: unknown, options: unknown, what: string): { id: number; timeout: number } {
    const o = readOptions(options, what, REQUEST_KEYS);
    const timeout = checkTimeout(o.timeoutMs, "Request timeout");
    const length = o.length ?? this.requestSize;
    if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || length > this.requestSize) {
      throw new RangeError(`Option 'length' must be an integer from 0 to ${this.requestSize}, got ${describe(length)}`);
    }
    if (!(request instanceof LoanedRequest)) throw new TypeError(`${what} needs a LoanedRequest from loan()`);
    this.#live();
    checkServer(this.#m, this.name, false);
    if (!clientFriend.take(request)) throw new TypeError(`${what}: this request was already sent`);
    this.#loans--;
    this.#views.retire(requestSlotAt(this.#layout, this.slot, request.slot));
    let id = this.#nextId;
    while (id === 0 || this.#pending.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    this.#pending.set(id, { slot: request.slot, responses: [], error: undefined, done: false, abandoned: false });
    const l = this.#layout;
    writeEntry(this.#m.view, requestEntryAt(l, this.slot, this.#reqHead), { id, slot: request.slot, length, flags: 0 });
    this.#reqHead = (this.#reqHead + 1) >>> 0;
    Atomics.store(this.#m.words, this.#word(BLOCK.reqHead), this.#reqHead | 0);
    ring(this.#m.words, recordWord(RECORD.serverBell), recordWord(RECORD.serverSleeping));
    return { id, timeout };
  }

  /** Takes every response the server queued, to the requests they answer. */
  #poll(): void {
    const l = this.#layout;
    const head = Atomics.load(this.#m.words, this.#word(BLOCK.resHead)) >>> 0;
    queued(head, this.#resTail, l.inFlight, "the response queue");
    if (((head - this.#read) >>> 0) > ((head - this.#resTail) >>> 0)) throw invalid("the response queue went back");
    while (this.#read !== head) {
      const position = this.#read;
      const e = readEntry(
        this.#m.view,
        responseEntryAt(l, this.slot, position),
        l.inFlight,
        l.responseSize,
        "a response",
      );
      if (e.slot !== position % l.inFlight) throw invalid(`response ${position} names slot ${e.slot}`);
      const p = this.#pending.get(e.id);
      if (p === undefined || p.done) throw invalid(`a response to request ${e.id}, which is not in flight`);
      this.#read = (position + 1) >>> 0;
      const last = (e.flags & FLAG.last) !== 0;
      const at = responseSlotAt(l, this.slot, e.slot);
      const response = new ReceivedResponse(this, position, e.id, last, at, l.responseSize, e.length);
      if (last) {
        p.done = true;
        this.#free.push(p.slot);
      }
      if ((e.flags & FLAG.dropped) !== 0) p.error = dropped(e.id);
      if (p.abandoned || p.error !== undefined) response.release();
      else p.responses.push(response);
      if (p.abandoned && p.done) this.#pending.delete(e.id);
    }
  }

  /** The next response to `id`, or undefined when none came yet; throws its error or the server's. */
  #step(id: number): ReceivedResponse | undefined {
    this.#live();
    this.#poll();
    const p = this.#pending.get(id)!;
    const response = p.responses.shift();
    if (response !== undefined) {
      if (response.last) this.#pending.delete(id);
      return response;
    }
    if (p.error !== undefined) {
      this.#pending.delete(id);
      throw p.error;
    }
    const probe = now() - this.#checked >= CHECK_MS;
    if (probe) this.#checked = now();
    checkServer(this.#m, this.name, probe);
    return undefined;
  }

  /** Waits for the next response to `id`; throws the timeout (and stops waiting for `id`) at the deadline. */
  #next(id: number, timeout: number): ReceivedResponse {
    this.#spinner.note();
    const step = () => this.#step(id);
    const got = until(step, this.#m.words, this.#word(BLOCK.bell), this.#word(BLOCK.sleeping), timeout, this.#spinner);
    if (got === undefined) throw this.#abandon(id, timeout);
    return got;
  }

  async #nextAsync(id: number, timeout: number): Promise<ReceivedResponse> {
    this.#spinner.note();
    const step = () => this.#step(id);
    const words = this.#m.words;
    const got = await untilAsync(
      step,
      words,
      this.#word(BLOCK.bell),
      this.#word(BLOCK.sleeping),
      timeout,
      this.#spinner,
    );
    if (got === undefined) throw this.#abandon(id, timeout);
    return got;
  }

  /** Stops waiting for `id`: its responses are released as they come. Returns the timeout error. */
  #abandon(id: number, timeout: number): ShmError {
    const p = this.#pending.get(id);
    if (p !== undefined) {
      p.abandoned = true;
      for (const r of p.responses.splice(0)) r.release();
      if (p.done) this.#pending.delete(id);
    }
    return timedOut(`Request ${id}`, timeout);
  }

  /** Hands response slot `position` (at `at`) back; the queue's tail moves over every released slot in a row. */
  #release(position: number, at: number): void {
    if (this.#closed) return;
    this.#views.retire(at);
    const f = this.inFlight;
    this.#releasedAt[position % f] = true;
    while (this.#resTail !== this.#read && this.#releasedAt[this.#resTail % f]) {
      this.#releasedAt[this.#resTail % f] = false;
      this.#resTail = (this.#resTail + 1) >>> 0;
    }
    Atomics.store(this.#m.words, this.#word(BLOCK.resTail), this.#resTail | 0);
    ring(this.#m.words, recordWord(RECORD.serverBell), recordWord(RECORD.serverSleeping));
  }

  /**
   * Sends `request` and resolves with its (first) response; later responses
   * of a stream are released unseen (use {@link RequestClient.stream} for them).
   *
   * @param options `length` (default: the whole slot), `timeoutMs` (default `Infinity`).
   * @throws {ShmError} (as a rejection) `ERR_REQUEST_TIMEOUT`, `ERR_REQUEST_DROPPED`, `ERR_SERVER_GONE`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 8 });
   * using client = RequestClient.connect(name);
   * const late = await client.request(client.loan()!, { timeoutMs: 10 }).catch((e: { code: string }) => e.code);
   * assert.ok(late === "ERR_REQUEST_TIMEOUT");
   * ```
   */
  async request(request: LoanedRequest, options?: RequestOptions): Promise<ReceivedResponse> {
    const { id, timeout } = this.#send(request, options, "RequestClient.request");
    const first = await this.#nextAsync(id, timeout);
    if (!first.last) this.#abandon(id, timeout);
    return first;
  }

  /**
   * Like {@link RequestClient.request}, blocking this thread.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 8 });
   * using client = RequestClient.connect(name);
   * server.close();
   * let code = "";
   * try {
   *   client.requestSync(client.loan()!, { timeoutMs: 1000 });
   * } catch (e) {
   *   code = (e as { code: string }).code;
   * }
   * assert.ok(code === "ERR_SERVER_GONE");
   * ```
   */
  requestSync(request: LoanedRequest, options?: RequestOptions): ReceivedResponse {
    const { id, timeout } = this.#send(request, options, "RequestClient.requestSync");
    const first = this.#next(id, timeout);
    if (!first.last) this.#abandon(id, timeout);
    return first;
  }

  /**
   * Sends `request` and yields its responses until the last one; the
   * timeout applies to each. Leaving the loop early releases the rest.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 8 });
   * using client = RequestClient.connect(name);
   * const parts = client.stream(client.loan()!, { timeoutMs: 5000 });
   * const request = server.receive(1000)!;
   * request.respond(Uint8Array.of(1), { last: false });
   * request.respond(Uint8Array.of(2));
   * let sum = 0;
   * for await (const part of parts) {
   *   sum += part.bytes[0];
   *   part.release();
   * }
   * assert.ok(sum === 3);
   * ```
   */
  stream(request: LoanedRequest, options?: RequestOptions): AsyncGenerator<ReceivedResponse, void, undefined> {
    const { id, timeout } = this.#send(request, options, "RequestClient.stream");
    return this.#streamOf(id, timeout);
  }

  async *#streamOf(id: number, timeout: number): AsyncGenerator<ReceivedResponse, void, undefined> {
    let last = false;
    try {
      while (!last) {
        const response = await this.#nextAsync(id, timeout);
        last = response.last;
        yield response;
      }
    } finally {
      if (!last && !this.#closed) this.#abandon(id, timeout);
    }
  }

  /**
   * Leaves the service: the server frees this client's slot and drops its
   * requests; pending calls fail with `ERR_USE_AFTER_CLOSE` and every view
   * is detached. Idempotent.
   *
   * @example
   * ```ts
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 8 });
   * RequestClient.connect(name).close();
   * server.receive(60); // frees the slot
   * RequestClient.connect(name).close(); // the slot is free again
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    unguard(this);
    leave(this.#m, this.slot);
  }

  /** Closes (see {@link RequestClient.close}). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The close protocol of a client (its close(), or its GC backstop): mark its slot left, ring the server, close. */
function leave(m: Mapped, slot: number): void {
  const { words, seg } = m;
  try {
    Atomics.store(words, blockWord(m.layout, slot, BLOCK.leaving), 1);
    ring(words, recordWord(RECORD.serverBell), recordWord(RECORD.serverSleeping));
  } finally {
    seg.close();
  }
}
