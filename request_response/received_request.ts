/**
 * A request as the server receives it: a view of the client's payload slot
 * and the ways to answer it.
 *
 * @module
 */
import { checkBoolean, checkTimeout, describe, readOptions } from "../internal/options.ts";
import type { OptionKeys } from "../internal/options.ts";
import { FLAG, requestSlotAt, responseSlotAt } from "./layout.ts";
import type { Entry, Layout } from "./layout.ts";
import { released, timedOut } from "./peer.ts";

/** The server a request came from, opaque here (the server file imports this one). */
type Server = object;

/** Options of {@link ReceivedRequest.respond} and {@link ReceivedRequest.sendResponse}. */
export interface RespondOptions {
  /** Whether this is the last response to the request. Default `true`; `false` streams more. */
  last?: boolean;
  /** Longest wait for room in the client's response queue, in milliseconds. Default `Infinity`. */
  timeoutMs?: number;
}

const RESPOND_KEYS: OptionKeys<RespondOptions> = { last: true, timeoutMs: true };

/** What the server lends its requests (set by the server's static block). */
export const serverFriend = {} as {
  loan(server: Server, client: number, gen: number, timeoutMs: number): number;
  send(server: Server, client: number, gen: number, id: number, length: number, flags: number): boolean;
  drop(server: Server, client: number, gen: number, id: number): void;
  current(server: Server, client: number, gen: number): boolean;
  /** Throws `ERR_USE_AFTER_CLOSE` once the server is closed. */
  live(server: Server): void;
  /** The `length` bytes at `at` (a payload slot's), not detached by retiring the slot. */
  bytes(server: Server, at: number, length: number): Uint8Array;
  /** A view of `length` bytes of the `size`-byte slot at `at`, detached when the slot is retired. */
  view(server: Server, at: number, size: number, length: number): Uint8Array;
  /** Detaches every view of the slot at `at`. */
  retire(server: Server, at: number): void;
};

/**
 * One request received by a {@link RequestServer}. `bytes` is a view of the
 * client's shared memory (no copy), valid until the request is answered
 * (its last response sent) or released. Answer with
 * {@link ReceivedRequest.respond} (copies `data` into the response slot) or,
 * zero-copy, {@link ReceivedRequest.loanResponse} + {@link ReceivedRequest.sendResponse};
 * several responses with `last: false` stream. Releasing a request that was
 * not answered tells its client it was dropped (`ERR_REQUEST_DROPPED`).
 * Once the request is done (answered, released, or its client gone) `bytes`
 * throws and every view taken from it earlier is detached (length 0), as is
 * a loaned response's view once it is sent: nothing reads or writes a slot
 * its client reuses.
 *
 * @example Stream three responses
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
 *
 * const name = uniqueName();
 * using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
 * using client = RequestClient.connect(name);
 * const parts = client.stream(client.loan()!, { length: 0 });
 * const request = server.receive(1000)!;
 * for (let i = 0; i < 3; i++) {
 *   const out = request.loanResponse()!;
 *   out[0] = i;
 *   request.sendResponse(1, { last: i === 2 });
 * }
 * const got: number[] = [];
 * for await (const part of parts) {
 *   got.push(part.bytes[0]);
 *   part.release();
 * }
 * assert.ok(got.join() === "0,1,2");
 * ```
 */
export class ReceivedRequest {
  /** The request's id, unique among its client's requests in flight. */
  readonly id: number;
  /** The client's slot number (0 to clients − 1). */
  readonly client: number;
  readonly #server: Server;
  readonly #gen: number;
  readonly #layout: Layout;
  readonly #at: number;
  readonly #length: number;
  #done = false;
  #slot = -1;

  /** Made by the server only. */
  constructor(server: Server, client: number, gen: number, entry: Entry, layout: Layout) {
    this.#server = server;
    this.client = client;
    this.#gen = gen;
    this.id = entry.id;
    this.#layout = layout;
    this.#at = requestSlotAt(layout, client, entry.slot);
    this.#length = entry.length;
  }

  /** Whether the request was answered (last response sent) or released. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * The request's bytes, a view of shared memory.
   *
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` once answered or released, or once its client left.
   */
  get bytes(): Uint8Array {
    this.#check();
    return serverFriend.view(this.#server, this.#at, this.#layout.requestSize, this.#length);
  }

  /** Whether the client left (the request is then done); throws once the request is done or the server closed. */
  #gone(): boolean {
    if (this.#done) throw released("The request");
    try {
      serverFriend.live(this.#server);
    } catch (error) {
      this.#done = true; // closing the server detached every view already
      throw error;
    }
    if (serverFriend.current(this.#server, this.client, this.#gen)) return false;
    this.#finish();
    return true;
  }

  /** Marks the request done and detaches every view it handed out. */
  #finish(): void {
    this.#done = true;
    serverFriend.retire(this.#server, this.#at);
    this.#unloan();
  }

  /** Forgets the loaned response slot, detaching its views. */
  #unloan(): void {
    if (this.#slot < 0) return;
    serverFriend.retire(this.#server, responseSlotAt(this.#layout, this.client, this.#slot));
    this.#slot = -1;
  }

  /** Waits for a response slot (see {@link ReceivedRequest.loanResponse}): false when the client has left. */
  #reserve(timeout: number): boolean {
    if (this.#gone()) return false;
    if (this.#slot >= 0) return true;
    const slot = serverFriend.loan(this.#server, this.client, this.#gen, timeout);
    if (slot === -2) throw timedOut("Waiting for room for a response", timeout);
    if (slot === -1) {
      this.#finish();
      return false;
    }
    this.#slot = slot;
    return true;
  }

  #check(): void {
    if (this.#done || !serverFriend.current(this.#server, this.client, this.#gen)) throw released("The request");
  }

  /**
   * A writable view of the next response slot (`responseSize` bytes), waiting
   * up to `timeoutMs` for the client to make room. The view is detached
   * (length 0) once the response is sent or the request released.
   *
   * @returns The view, or `null` when the client has left (the request is then done).
   * @throws {ShmError} `ERR_REQUEST_TIMEOUT` when no room came in time; `ERR_USE_AFTER_CLOSE` once done
   *   or once the server is closed.
   */
  loanResponse(timeoutMs?: number): Uint8Array | null {
    if (!this.#reserve(checkTimeout(timeoutMs, "Response timeout"))) return null;
    const at = responseSlotAt(this.#layout, this.client, this.#slot);
    return serverFriend.view(this.#server, at, this.#layout.responseSize, this.#layout.responseSize);
  }

  /**
   * Sends the loaned response's first `length` bytes.
   *
   * @returns false when the client has left meanwhile (the request is then done).
   * @throws {RangeError} when `length` does not fit the slot; {Error} when nothing is loaned;
   *   {ShmError} `ERR_USE_AFTER_CLOSE` once done or once the server is closed.
   */
  sendResponse(length: number, options?: RespondOptions): boolean {
    const o = readOptions(options, "ReceivedRequest.sendResponse", RESPOND_KEYS);
    const last = checkBoolean(o.last, "last", true);
    if (!Number.isInteger(length) || length < 0 || length > this.#layout.responseSize) {
      throw new RangeError(
        `Response length must be an integer from 0 to ${this.#layout.responseSize}, got ${describe(length)}`,
      );
    }
    if (this.#gone()) return false;
    if (this.#slot < 0) throw new Error("Nothing to send: loanResponse() first");
    this.#unloan();
    const sent = serverFriend.send(this.#server, this.client, this.#gen, this.id, length, last ? FLAG.last : 0);
    if (last || !sent) this.#finish();
    return sent;
  }

  /**
   * Copies `data` into a response slot and sends it (the last one, unless `last: false`).
   *
   * @returns true when sent; false when the client has left (the request is then done): a client
   *   that left or died is no error for the server, which goes on serving the others.
   * @throws {TypeError|RangeError} when `data` is not a Uint8Array of at most `responseSize` bytes;
   *   {ShmError} `ERR_USE_AFTER_CLOSE` once the request is done (answered or released) or once the
   *   server is closed, as every use of a closed port throws; `ERR_REQUEST_TIMEOUT` when the client
   *   made no room in time.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
   * using client = RequestClient.connect(name);
   * const reply = client.request(client.loan()!, { length: 0 });
   * server.receive(1000)!.respond(new TextEncoder().encode("hi"));
   * using response = await reply;
   * assert.ok(new TextDecoder().decode(response.bytes) === "hi");
   * ```
   */
  respond(data: Uint8Array, options?: RespondOptions): boolean {
    if (!(data instanceof Uint8Array)) throw new TypeError(`respond() needs a Uint8Array, got ${describe(data)}`);
    if (data.length > this.#layout.responseSize) {
      throw new RangeError(`A response holds at most ${this.#layout.responseSize} bytes, got ${data.length}`);
    }
    const o = readOptions(options, "ReceivedRequest.respond", RESPOND_KEYS);
    if (!this.#reserve(checkTimeout(o.timeoutMs, "Response timeout"))) return false;
    serverFriend.bytes(this.#server, responseSlotAt(this.#layout, this.client, this.#slot), data.length).set(data);
    return this.sendResponse(data.length, { last: o.last as boolean | undefined });
  }

  /**
   * Ends the request: when it was not answered, its client gets `ERR_REQUEST_DROPPED`. Idempotent,
   * and a no-op once the server is closed (its clients then see `ERR_SERVER_GONE`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { RequestClient, RequestServer, ShmError, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
   * using client = RequestClient.connect(name);
   * const reply = client.request(client.loan()!, { length: 0 });
   * server.receive(1000)!.release();
   * const error = await reply.catch((e: unknown) => e);
   * assert.ok(error instanceof ShmError && error.code === "ERR_REQUEST_DROPPED");
   * ```
   */
  release(): void {
    if (this.#done) return;
    const loaned = this.#slot >= 0;
    this.#finish();
    if (loaned) serverFriend.send(this.#server, this.client, this.#gen, this.id, 0, FLAG.last | FLAG.dropped);
    else serverFriend.drop(this.#server, this.client, this.#gen, this.id);
  }

  /** Releases (see {@link ReceivedRequest.release}). */
  [Symbol.dispose](): void {
    this.release();
  }
}
