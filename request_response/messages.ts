/**
 * The client's two kinds of view: a loaned request it fills, and a
 * response it reads. Both are views of shared memory, not copies.
 *
 * @module
 */
import { released } from "./peer.ts";

/** What the client lends its messages (set by the client's static block). */
export const clientFriend = {} as {
  /** A view of `length` bytes of the `size`-byte slot at `at`, detached when the slot is retired. */
  view(client: object, at: number, size: number, length: number): Uint8Array;
  /** Hands response `position` (its slot at `at`) back, detaching its views. */
  release(client: object, position: number, at: number): void;
  /** Marks a loaned request sent; false when it already was. */
  take(request: LoanedRequest): boolean;
};

/**
 * A request buffer loaned by {@link RequestClient.loan}: fill `bytes` (a
 * writable view of this client's request slot, `requestSize` bytes) and
 * send it with {@link RequestClient.request}, {@link RequestClient.requestSync}
 * or {@link RequestClient.stream}. Once sent, `bytes` throws and every view
 * taken from it earlier is detached (length 0); the slot returns to the
 * client when the request's last response arrives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
 * const name = uniqueName();
 * using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
 * using client = RequestClient.connect(name);
 * const request = client.loan()!;
 * request.bytes.set([1, 2, 3]);
 * assert.ok(request.bytes.length === 16);
 * ```
 */
export class LoanedRequest {
  /** The request slot (0 to inFlight − 1). */
  readonly slot: number;
  readonly #client: object;
  readonly #at: number;
  readonly #size: number;
  #sent = false;

  static {
    clientFriend.take = (request) => {
      if (request.#sent) return false;
      request.#sent = true;
      return true;
    };
  }

  /** Made by the client only. */
  constructor(client: object, slot: number, at: number, size: number) {
    this.#client = client;
    this.slot = slot;
    this.#at = at;
    this.#size = size;
  }

  /** Whether it was sent (or handed back). */
  get sent(): boolean {
    return this.#sent;
  }

  /**
   * The request slot, a writable view of shared memory.
   *
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` once sent.
   */
  get bytes(): Uint8Array {
    if (this.#sent) throw released("The loaned request was sent or");
    return clientFriend.view(this.#client, this.#at, this.#size, this.#size);
  }
}

/**
 * A response received by a {@link RequestClient}: `bytes` is a view of the
 * response slot in shared memory, valid until {@link ReceivedResponse.release}
 * (or `using`) hands the slot back to the server. Release every response:
 * an unreleased one keeps a slot of this client's response queue. After the
 * release `bytes` throws and every view taken from it earlier is detached
 * (length 0), so nothing reads the slot once the server reuses it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
 * const name = uniqueName();
 * using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
 * using client = RequestClient.connect(name);
 * const reply = client.request(client.loan()!, { length: 0 });
 * server.receive(1000)!.respond(Uint8Array.of(9));
 * const response = await reply;
 * assert.ok(response.bytes[0] === 9 && response.last);
 * response.release();
 * ```
 */
export class ReceivedResponse {
  /** The id of the request it answers. */
  readonly id: number;
  /** Whether it is the last response to its request. */
  readonly last: boolean;
  readonly #client: object;
  readonly #position: number;
  readonly #at: number;
  readonly #size: number;
  readonly #length: number;
  #released = false;

  /** Made by the client only. */
  constructor(
    client: object,
    position: number,
    id: number,
    last: boolean,
    at: number,
    size: number,
    length: number,
  ) {
    this.#client = client;
    this.#position = position;
    this.id = id;
    this.last = last;
    this.#at = at;
    this.#size = size;
    this.#length = length;
  }

  /** Whether it was released. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * The response's bytes, a view of shared memory.
   *
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` once released, or once the client is closed.
   */
  get bytes(): Uint8Array {
    if (this.#released) throw released("The response");
    return clientFriend.view(this.#client, this.#at, this.#size, this.#length);
  }

  /**
   * Hands the response slot back to the server and detaches every view of it. Idempotent.
   *
   * @example
   * ```ts
   * import { RequestClient, RequestServer, uniqueName } from "../mod.ts";
   * const name = uniqueName();
   * using server = RequestServer.serve(name, { clients: 1, requestSize: 16 });
   * using client = RequestClient.connect(name);
   * const reply = client.request(client.loan()!, { length: 0 });
   * server.receive(1000)!.respond(new Uint8Array(0));
   * (await reply).release();
   * ```
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    clientFriend.release(this.#client, this.#position, this.#at);
  }

  /** Releases (see {@link ReceivedResponse.release}). */
  [Symbol.dispose](): void {
    this.release();
  }
}
