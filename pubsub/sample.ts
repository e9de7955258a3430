/**
 * Samples of a publish-subscribe service: a loan the publisher fills in
 * place, and a received sample a subscriber reads in place. Both are views of
 * the shared memory (no copy) that detach once the sample is published,
 * released or its port closed.
 *
 * @module
 */
import { ShmError } from "../errors.ts";

/** What a loan needs from its publisher (internal). */
export interface LoanOwner {
  publish(sample: LoanedSample, index: number, length: number, timeoutMs: number | undefined): boolean;
  discard(sample: LoanedSample, index: number): void;
}

/** What a received sample needs from its subscriber (internal). */
export interface ReceiptOwner {
  release(sample: ReceivedSample, index: number): void;
}

/** What `bytes` is once a sample is done with. */
const EMPTY = new Uint8Array(0);

function spent(what: string): ShmError {
  return new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: `This sample was already ${what}` });
}

let makeLoan: (owner: LoanOwner, index: number, bytes: Uint8Array) => LoanedSample;
let endLoan: (sample: LoanedSample) => void;
let endReceipt: (sample: ReceivedSample) => void;
let makeReceipt: (
  owner: ReceiptOwner,
  index: number,
  bytes: Uint8Array,
  sequence: number,
  missed: number,
) => ReceivedSample;

/**
 * A sample loaned by `Publisher.loan`: `bytes` is the shared memory
 * itself, writable. Fill it, then `publish()` it to every subscriber, or
 * `discard()` it. Once published or discarded, `bytes` has length 0.
 *
 * @example Loan, fill, publish
 * ```ts
 * import { Publisher, uniqueName } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * using pub = Publisher.create(uniqueName(), { sampleSize: 64 });
 * const sample = pub.loan();
 * sample.bytes[0] = 1;
 * sample.publish(1);                 // the first byte only
 * assert.ok(sample.bytes.length === 0);
 * ```
 */
export class LoanedSample {
  readonly #owner: LoanOwner;
  readonly #index: number;
  #bytes: Uint8Array;
  #done: "published" | "discarded" | undefined;

  static {
    makeLoan = (owner, index, bytes) => new LoanedSample(owner, index, bytes);
    endLoan = (sample) => {
      sample.#bytes = EMPTY;
      sample.#done ??= "discarded";
    };
  }

  private constructor(owner: LoanOwner, index: number, bytes: Uint8Array) {
    this.#owner = owner;
    this.#index = index;
    this.#bytes = bytes;
  }

  /** The sample's memory (the whole `sampleSize`), writable; length 0 once published or discarded. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Whether the sample is still loaned (neither published nor discarded). */
  get loaned(): boolean {
    return this.#done === undefined;
  }

  /**
   * Publishes the first `length` bytes to every live subscriber.
   *
   * @param length Bytes that count (default: all of `bytes`).
   * @param timeoutMs Under the "block" policy: how long to wait for room in
   *   every subscriber's queue (default: forever; a dead subscriber is cut off).
   * @returns true when published; false when no room came in time (the sample stays loaned).
   * @throws {RangeError} for a length above the sample size.
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` once published, discarded or its publisher closed.
   * @example Publish part of a sample
   * ```ts
   * import { Publisher, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * using pub = Publisher.create(uniqueName(), { sampleSize: 64 });
   * const sample = pub.loan();
   * new TextEncoder().encodeInto("hello", sample.bytes);
   * assert.ok(sample.publish(5));
   * ```
   */
  publish(length?: number, timeoutMs?: number): boolean {
    if (this.#done) throw spent(this.#done);
    const n = length ?? this.#bytes.length;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0 || n > this.#bytes.length) {
      throw new RangeError(`Sample length must be an integer from 0 to ${this.#bytes.length}, got ${String(n)}`);
    }
    if (!this.#owner.publish(this, this.#index, n, timeoutMs)) return false;
    this.#done = "published";
    this.#bytes = EMPTY;
    return true;
  }

  /**
   * Gives the sample back unpublished (idempotent once done).
   *
   * @example Discard a loan
   * ```ts
   * import { Publisher, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * using pub = Publisher.create(uniqueName(), { sampleSize: 64 });
   * const sample = pub.loan();
   * sample.discard();
   * assert.ok(!sample.loaned);
   * ```
   */
  discard(): void {
    if (this.#done) return;
    this.#done = "discarded";
    this.#bytes = EMPTY;
    this.#owner.discard(this, this.#index);
  }

  /** Discards the sample unless it was published. */
  [Symbol.dispose](): void {
    this.discard();
  }
}

/**
 * A sample received by `Subscriber.receive`: `bytes` is the publisher's
 * memory itself (no copy), valid until `release()`; then it has length 0.
 * Every subscriber of the same sample sees the same bytes.
 *
 * @example Receive and release
 * ```ts
 * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 64 });
 * using sub = Subscriber.open(name);
 * pub.loan().publish(0);
 * using sample = sub.receive(1000)!;  // released at the end of the block
 * assert.ok(sample.sequence === 0 && sample.missed === 0);
 * ```
 */
export class ReceivedSample {
  readonly #owner: ReceiptOwner;
  readonly #index: number;
  #bytes: Uint8Array;
  /** The publisher's sequence number of this sample (0, 1, 2 … per service). */
  readonly sequence: number;
  /** Samples this subscriber lost to the "drop-oldest" policy since the previous receive. */
  readonly missed: number;
  #released = false;

  static {
    makeReceipt = (owner, index, bytes, sequence, missed) => new ReceivedSample(owner, index, bytes, sequence, missed);
    endReceipt = (sample) => {
      sample.#bytes = EMPTY;
      sample.#released = true;
    };
  }

  private constructor(owner: ReceiptOwner, index: number, bytes: Uint8Array, sequence: number, missed: number) {
    this.#owner = owner;
    this.#index = index;
    this.#bytes = bytes;
    this.sequence = sequence;
    this.missed = missed;
  }

  /** The published bytes (read them; writes are not for subscribers); length 0 once released. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Whether `release()` ran (or the subscriber closed). */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Hands the sample back (idempotent): its memory is reused once every
   * subscriber released it.
   *
   * @example Release early
   * ```ts
   * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const name = uniqueName();
   * using pub = Publisher.create(name, { sampleSize: 8 });
   * using sub = Subscriber.open(name);
   * pub.loan().publish();
   * const sample = sub.receive(1000)!;
   * sample.release();
   * assert.ok(sample.bytes.length === 0);
   * ```
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#bytes = EMPTY;
    this.#owner.release(this, this.#index);
  }

  /** Releases. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** Internal: a new loan. */
export function newLoan(owner: LoanOwner, index: number, bytes: Uint8Array): LoanedSample {
  return makeLoan(owner, index, bytes);
}

/** Internal: a new received sample. */
export function newReceipt(
  owner: ReceiptOwner,
  index: number,
  bytes: Uint8Array,
  sequence: number,
  missed: number,
): ReceivedSample {
  return makeReceipt(owner, index, bytes, sequence, missed);
}

/** Internal: empties a loan's view and marks it done (its publisher detached the memory). */
export function endLoanView(sample: LoanedSample): void {
  endLoan(sample);
}

/** Internal: empties a received sample's view and marks it released. */
export function endReceiptView(sample: ReceivedSample): void {
  endReceipt(sample);
}
