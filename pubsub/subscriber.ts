/**
 * The subscribing side of a publish-subscribe service.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { Segment } from "../segment.ts";
import { checkBoolean, checkTimeout, describe, readOptions } from "../internal/options.ts";
import type { OptionKeys } from "../internal/options.ts";
import { now } from "../platform/mod.ts";
import { C, invalid, PUB_CLOSED, SLOT } from "./layout.ts";
import { awaitHeader, goneError, Port, self } from "./port.ts";
import { ReceivePlan } from "./waits.ts";
import { block, blockAsync } from "../internal/wait_loop.ts";
import { endReceiptView, newReceipt } from "./sample.ts";
import type { ReceiptOwner, ReceivedSample } from "./sample.ts";
import { guard, unguard } from "../service/backstop.ts";

/** Options of {@link Subscriber.open}. */
export interface SubscriberOptions {
  /** How long to wait for a service whose publisher is still laying it out, in ms. Default 1000. */
  timeoutMs?: number;
  /**
   * How long a receive may spin before it sleeps, in microseconds, while the
   * publisher runs on another CPU (it yields instead when both share one).
   * Default 50; 0 sleeps at once.
   */
  spinMicros?: number;
  /**
   * Whether a received sample's `bytes` is detached (length 0) once it is
   * released. Default true. false saves a buffer transfer per sample (about
   * a quarter to one microsecond, more for large samples on Bun): the view
   * then stays valid until the subscriber closes, and after the release it
   * shows whatever the publisher later writes into that memory.
   */
  detach?: boolean;
}

const KEYS: OptionKeys<SubscriberOptions> = { timeoutMs: true, spinMicros: true, detach: true };

let make: (port: Port, slot: number, spin: number) => Subscriber;

/** Under the lock: claims a free (or dead) slot, gives it the history, makes it live. */
function join(port: Port): number {
  const { state, words, layout, f64 } = port;
  port.reap();
  for (let i = 0; i < layout.subscribers; i++) {
    const at = state.slot(i, SLOT.state);
    if (Atomics.load(words, at) !== 0) continue;
    const me = self();
    Atomics.store(words, state.slot(i, SLOT.pid), me.pid);
    f64[state.slot(i, 0) / 2 + SLOT.start64] = me.start;
    Atomics.add(words, state.slot(i, SLOT.generation), 1);
    Atomics.store(words, state.slot(i, SLOT.missed), 0);
    Atomics.store(words, state.slot(i, SLOT.cpu), -1);
    state.forget(i); // no held samples, an empty ring
    state.follow(i);
    for (const j of state.history()) state.push(i, j, state.length(j), state.seq(j));
    Atomics.store(words, at, 1);
    return i;
  }
  throw new ShmError({
    code: "ERR_SERVICE_FULL",
    errno: 0,
    message: `All ${layout.subscribers} subscriber slots of the service are taken by live subscribers`,
    hint: "Close a subscriber, or create the service with more `subscribers`",
  });
}

/**
 * A subscriber of a named publish-subscribe service: it receives every
 * sample published after it joined (and the service's history first), as
 * zero-copy views of the publisher's memory. Sync and async receives, with
 * timeouts; `for await` over it receives until the publisher closes.
 *
 * A subscriber holds at most `borrows` samples at once (see
 * `PublisherOptions.borrows`); release each one when done. When the
 * publisher closes or dies, receives drain what is queued and then throw
 * `ShmError` `ERR_PUBLISHER_GONE`. A subscriber whose process dies gives its
 * slot and samples back: the next join or loan reclaims them.
 *
 * @example Receive with a timeout
 * ```ts
 * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 64 });
 * using sub = Subscriber.open(name);
 * assert.ok(sub.receive(0) === null);  // nothing yet
 * pub.loan().publish();
 * const sample = sub.receive(1000)!;
 * assert.ok(sample.bytes.length === 64);
 * sample.release();
 * ```
 */
export class Subscriber {
  readonly #port: Port;
  readonly #slot: number;
  readonly #plan: ReceivePlan;
  /** Per sample index: the received sample this subscriber holds. */
  readonly #held: (ReceivedSample | undefined)[] = [];
  /** Per sample index: the held word of this slot that names it while it is held. */
  readonly #heldWord: number[] = [];
  /** The held words not in use. */
  readonly #freeWords: number[] = [];
  #holding = 0;
  readonly #drops: boolean;
  readonly #hooks: ReceiptOwner = { release: (sample, index) => this.#release(sample, index) };
  #missed = 0;
  #closed = false;

  static {
    make = (port, slot, spin) => new Subscriber(port, slot, spin);
  }

  private constructor(port: Port, slot: number, spin: number) {
    this.#port = port;
    this.#slot = slot;
    this.#plan = new ReceivePlan(port, slot, spin);
    this.#drops = port.layout.policy === "drop-oldest";
    for (let k = port.layout.borrows - 1; k >= 0; k--) this.#freeWords.push(k);
    guard(this, leave.bind(null, port, slot));
  }

  /**
   * Joins the service `name` in a free subscriber slot (or one whose owner died).
   *
   * @throws {ShmError} `ENOENT` when there is no such service;
   *   `ERR_SERVICE_FULL` when every slot is live; `ERR_SERVICE_INVALID` for a
   *   segment that is not a valid publish-subscribe service.
   * @example Join
   * ```ts
   * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const name = uniqueName();
   * using pub = Publisher.create(name, { sampleSize: 8, subscribers: 1 });
   * using sub = Subscriber.open(name);
   * assert.ok(pub.subscribers === 1 && sub.missed === 0);
   * ```
   */
  static open(name: string, options?: SubscriberOptions): Subscriber {
    const o = readOptions(options, "Subscriber.open", KEYS);
    const timeout = checkTimeout(o.timeoutMs ?? 1000, "Option 'timeoutMs'");
    const spin = o.spinMicros ?? 50;
    if (typeof spin !== "number" || !(spin >= 0) || spin === Infinity) {
      throw new RangeError(`Option 'spinMicros' must be a finite number of microseconds >= 0, got ${describe(spin)}`);
    }
    const detach = checkBoolean(o.detach, "detach", true);
    const seg = Segment.open(name);
    try {
      const port = new Port(seg, awaitHeader(seg, timeout), detach);
      return make(port, port.changing(() => join(port)), spin);
    } catch (error) {
      seg.close();
      throw error;
    }
  }

  /** The service's name. */
  get name(): string {
    return this.#port.seg.name;
  }

  /** Samples lost to the "drop-oldest" policy since this subscriber joined. */
  get missed(): number {
    return this.#missed;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  #open(): Port {
    if (this.#closed) {
      throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: `Subscriber of '${this.name}' is closed` });
    }
    if (this.#holding >= this.#port.layout.borrows) {
      throw new ShmError({
        code: "ERR_SAMPLE_LIMIT",
        errno: 0,
        message: `This subscriber holds ${this.#holding} samples, its limit (the service's borrows)`,
        hint: "Release a sample before receiving the next",
      });
    }
    return this.#port;
  }

  /** Takes the next queued sample, or returns undefined (`stamp`: see {@link PubSubState.take}). */
  #take(port: Port, stamp?: number): ReceivedSample | undefined {
    const state = port.state;
    const i = this.#slot;
    const words = this.#freeWords;
    const k = words[words.length - 1]; // #open made sure one is free
    const j = state.take(i, k, stamp);
    if (j < 0) return undefined;
    words.pop();
    if (this.#held[j] !== undefined) throw invalid(`sample ${j} reached subscriber ${i} twice`);
    this.#heldWord[j] = k;
    // Only a publisher under the block policy sleeps for room.
    if (!this.#drops && Atomics.load(port.words, C.pubWaiting) !== 0) port.wakeTail(i);
    const length = state.takenLength;
    let missed = 0;
    if (this.#drops && Atomics.load(port.words, state.slot(i, SLOT.missed)) !== 0) {
      missed = Atomics.exchange(port.words, state.slot(i, SLOT.missed), 0) >>> 0;
      this.#missed += missed;
    }
    const sample = newReceipt(this.#hooks, j, port.view(j, length), state.takenSeq, missed);
    this.#held[j] = sample;
    this.#holding++;
    return sample;
  }

  /**
   * The fast path of both receives: the entry at tail now, or, when there is
   * none and `timeout` is not 0, the one that comes while this side polls the
   * stamp at tail for a share of the spin budget (only while the publisher
   * runs on another CPU), taken with the stamp just read (the wait loop would
   * read it twice more on the way). Undefined when none came.
   */
  #quick(timeout: number): ReceivedSample | undefined {
    const first = this.#take(this.#open());
    if (first) return first;
    const spinner = this.#plan.spinner;
    spinner.note();
    if (timeout === 0) return undefined;
    const state = this.#port.state;
    let seen = state.stampAtTail(this.#slot);
    for (let n = spinner.polls(); n > 0; n--) {
      const v = state.stampAtTail(this.#slot);
      if (v === seen) continue;
      seen = v;
      const got = this.#take(this.#open(), v);
      if (got) return got;
    }
    return undefined;
  }

  /** What an empty queue means now: throws once the publisher is gone (`probe`: also check its process). */
  #checkGone(port: Port, probe: boolean): void {
    const closed = Atomics.load(port.words, C.pubState) !== 1;
    const gone = closed ? "closed" : probe ? port.publisherGone() : undefined;
    if (gone && !port.state.ready(this.#slot)) throw goneError(gone);
  }

  /**
   * Receives the next sample: a view of the publisher's memory, valid until you release it.
   *
   * @param timeoutMs How long to wait (default: forever; 0 only looks).
   * @returns the sample, or `null` when none came in time.
   * @throws {ShmError} `ERR_PUBLISHER_GONE` once the publisher closed or died
   *   and the queue is empty; `ERR_SAMPLE_LIMIT` when `borrows` samples are
   *   held; `ERR_SERVICE_INVALID` for corrupt shared memory.
   * @example Receive
   * ```ts
   * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const name = uniqueName();
   * using pub = Publisher.create(name, { sampleSize: 4 });
   * using sub = Subscriber.open(name);
   * pub.loan().publish(2);
   * using sample = sub.receive(1000)!;
   * assert.ok(sample.bytes.length === 2);
   * ```
   */
  receive(timeoutMs?: number): ReceivedSample | null {
    const timeout = checkTimeout(timeoutMs, "Receive timeout");
    const quick = this.#quick(timeout);
    if (quick) return quick;
    const deadline = timeout === Infinity ? Infinity : now() + timeout;
    const plan = this.#plan.begin();
    for (let probe = false;; probe = true) {
      const port = this.#open();
      const got = this.#take(port);
      if (got) return got;
      this.#checkGone(port, probe);
      const left = deadline === Infinity ? Infinity : deadline - now();
      if (left <= 0 || !block(plan, left, plan.spinner)) return null;
    }
  }

  /**
   * The asynchronous twin of {@link receive}: the event loop runs while it waits.
   *
   * @example Receive without blocking the event loop
   * ```ts
   * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
   *
   * const name = uniqueName();
   * using pub = Publisher.create(name, { sampleSize: 4 });
   * using sub = Subscriber.open(name);
   * const pending = sub.receiveAsync(1000);
   * pub.loan().publish();
   * (await pending)!.release();
   * ```
   */
  async receiveAsync(timeoutMs?: number): Promise<ReceivedSample | null> {
    const timeout = checkTimeout(timeoutMs, "Receive timeout");
    const quick = this.#quick(timeout);
    if (quick) return quick;
    const deadline = timeout === Infinity ? Infinity : now() + timeout;
    const plan = this.#plan.begin();
    for (let probe = false;; probe = true) {
      const port = this.#open();
      const got = this.#take(port);
      if (got) return got;
      this.#checkGone(port, probe);
      const left = deadline === Infinity ? Infinity : deadline - now();
      if (left <= 0 || !(await blockAsync(plan, left, plan.spinner))) return null;
    }
  }

  /**
   * Receives until the publisher closes (then the loop ends; a publisher that
   * died throws `ERR_PUBLISHER_GONE`). Each sample is released when the loop
   * asks for the next one, or ends.
   *
   * @example Iterate
   * ```ts
   * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const name = uniqueName();
   * const pub = Publisher.create(name, { sampleSize: 4 });
   * using sub = Subscriber.open(name);
   * pub.loan().publish();
   * pub.loan().publish();
   * pub.close();
   * let n = 0;
   * for await (const sample of sub) n += sample.bytes.length;
   * assert.ok(n === 8);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ReceivedSample, void, undefined> {
    let last: ReceivedSample | undefined;
    try {
      for (;;) {
        last?.release();
        try {
          last = (await this.receiveAsync()) ?? undefined;
        } catch (error) {
          const words = this.#port.words;
          const closed = words.length > 0 && Atomics.load(words, C.pubState) === PUB_CLOSED;
          if (error instanceof ShmError && error.code === "ERR_PUBLISHER_GONE" && closed) return;
          throw error;
        }
        if (last) yield last;
      }
    } finally {
      last?.release();
    }
  }

  /** A sample handed back. */
  #release(sample: ReceivedSample, index: number): void {
    if (this.#held[index] !== sample) return;
    this.#held[index] = undefined;
    this.#holding--;
    this.#port.retire(index);
    const k = this.#heldWord[index];
    this.#port.state.release(this.#slot, k);
    this.#freeWords.push(k);
  }

  /**
   * Leaves the service: held samples are released (their views detach), the
   * slot is freed. Idempotent.
   *
   * @example Close
   * ```ts
   * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const name = uniqueName();
   * using pub = Publisher.create(name, { sampleSize: 4 });
   * const sub = Subscriber.open(name);
   * sub.close();
   * assert.ok(pub.subscribers === 0);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const port = this.#port;
    for (const sample of this.#held) if (sample !== undefined) endReceiptView(sample);
    this.#held.length = 0;
    this.#holding = 0;
    unguard(this);
    leave(port, this.#slot);
  }

  /** Closes. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The close protocol of a subscriber (its close(), or its GC backstop): free its slot, end its receives, close. */
function leave(port: Port, slot: number): void {
  try {
    port.changing(() => {
      port.state.forget(slot);
      Atomics.store(port.words, port.state.slot(slot, SLOT.state), 0);
    });
  } catch {
    // A stuck lock: the slot is reclaimed once this process ends.
  } finally {
    port.wakeHead(slot); // pending receives of this subscriber end now, with ERR_USE_AFTER_CLOSE
    port.seg.close();
  }
}
