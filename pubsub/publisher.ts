/**
 * The publishing side of a publish-subscribe service.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { Segment, unlinkIfSame } from "../segment.ts";
import { checkBoolean, checkMode, checkTimeout, describe, readOptions } from "../internal/options.ts";
import type { OptionKeys } from "../internal/options.ts";
import { now } from "../platform/mod.ts";
import { notify } from "../wait.ts";
import { markServiceReady, SERVICE_HEADER_BYTES, writeServiceHeader } from "../service/header.ts";
import {
  C,
  computeLayout,
  invalid,
  LIMITS,
  PUB_CLOSED,
  PUB_LIVE,
  PUBSUB_VERSION,
  SLOT,
  writeLayout,
} from "./layout.ts";
import type { PubSubLayout, PubSubParams, PubSubPolicy } from "./layout.ts";
import { Port, self } from "./port.ts";
import { RoomPlan } from "./waits.ts";
import { block, Spinner } from "../internal/wait_loop.ts";
import { endLoanView, newLoan } from "./sample.ts";
import { createPublisherSegment } from "./takeover.ts";
import { guard, unguard } from "../service/backstop.ts";
import type { LoanedSample, LoanOwner } from "./sample.ts";

/** Options of {@link Publisher.create}. */
export interface PublisherOptions {
  /** Bytes of one sample, 1 to 2^31 − 1. Required. */
  sampleSize: number;
  /** Subscriber slots, 1 to 64. Default 4. */
  subscribers?: number;
  /** Samples that may wait in one subscriber's queue, 1 to 4096. Default 4. */
  depth?: number;
  /** The last samples kept for a subscriber that joins late, 0 to `depth`. Default 0. */
  history?: number;
  /** Samples the publisher may hold loaned at once, 1 to 64. Default 2. */
  loans?: number;
  /** Samples one subscriber may hold received at once, 1 to 64. Default 2. */
  borrows?: number;
  /**
   * When a subscriber's queue is full: `"block"` (default) makes `publish`
   * wait for room (with its timeout); `"drop-oldest"` drops that subscriber's
   * oldest queued sample, which it is told about (`missed`), and never waits.
   */
  policy?: PubSubPolicy;
  /** Permission bits of the service's segment. Default 0o600. */
  mode?: number;
  /**
   * How long a publish blocked for room (block policy) may spin, in
   * microseconds, while the subscriber runs on another CPU (it yields
   * instead when both share one). Default 50; 0 sleeps at once.
   */
  spinMicros?: number;
  /**
   * Whether a loan's `bytes` is detached (length 0) once it is published or
   * discarded. Default true. false saves a buffer transfer per sample (about
   * a quarter to one microsecond, more for large samples on Bun): the view
   * then stays valid until the publisher closes, and writing through it after
   * publishing changes what subscribers read.
   */
  detach?: boolean;
}

const KEYS: OptionKeys<PublisherOptions> = {
  sampleSize: true,
  subscribers: true,
  depth: true,
  history: true,
  loans: true,
  borrows: true,
  policy: true,
  mode: true,
  spinMicros: true,
  detach: true,
};

function checkSpin(value: unknown): number {
  if (value === undefined) return 50;
  if (typeof value !== "number" || !(value >= 0) || value === Infinity) {
    throw new RangeError(`Option 'spinMicros' must be a finite number of microseconds >= 0, got ${describe(value)}`);
  }
  return value;
}

function count(value: unknown, name: keyof typeof LIMITS, fallback: number | undefined, max?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const [min, top] = [LIMITS[name][0], max ?? LIMITS[name][1]];
  if (typeof value !== "number") throw new TypeError(`Option '${name}' must be a number, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < min || value > top) {
    throw new RangeError(`Option '${name}' must be an integer from ${min} to ${top}, got ${describe(value)}`);
  }
  return value;
}

function limit(what: string): ShmError {
  return new ShmError({
    code: "ERR_SAMPLE_LIMIT",
    errno: 0,
    message: what,
    hint: "Publish or discard loans, and release received samples, before taking more",
  });
}

/** The parameters of a service ({@link PublisherOptions}, defaults filled in) and its pool size. */
export interface PubSubParameters extends PubSubParams {
  /** Samples in the pool: subscribers × (depth + borrows) + history + loans. */
  readonly samples: number;
}

let make: (port: Port, spin: number) => Publisher;

/** What a publish step gives when a change of membership runs (then it runs under the lock). */
const CHANGING = -2;
/** What a publish step gives when a live ring has no room (block policy): it starts over from step 1. */
const FULL = -1;
/** The index that makes a publish step scan for free samples instead. */
const SCAN = -1;

/**
 * The one publisher of a named publish-subscribe service. It loans samples
 * of shared memory, which it fills in place and publishes to every live
 * subscriber at once: no copy, whatever the number of subscribers. A
 * sample's memory is reused only after every subscriber released it, or was
 * cut off (closed, or died).
 *
 * The service is one named segment laid out as docs/pubsub.md says; a
 * C program following it can publish or subscribe too.
 *
 * @example Publish to a subscriber
 * ```ts
 * import { Publisher, Subscriber, uniqueName } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 1024, subscribers: 2 });
 * using sub = Subscriber.open(name);  // in any process, any runtime
 * const out = pub.loan();
 * out.bytes.set([1, 2, 3]);
 * out.publish(3);
 * using got = sub.receive(1000)!;
 * assert.ok(got.bytes[2] === 3);
 * ```
 */
export class Publisher {
  readonly #port: Port;
  /** Per sample index: the loan this publisher holds. */
  readonly #loans: (LoanedSample | undefined)[] = [];
  #loaned = 0;
  readonly #hooks: LoanOwner = {
    publish: (sample, index, length, timeoutMs) => this.#publish(sample, index, length, timeoutMs),
    discard: (sample, index) => this.#discard(sample, index),
  };
  readonly #spin: number;
  readonly #plans: RoomPlan[] = [];
  /** Per slot: its tail as last read, which errs only on the side of less room. */
  readonly #tails: number[] = [];
  /** The slots the last publish step pushed to. */
  readonly #pushed: number[] = [];
  /** Samples the last scan found free and not loaned since: free until loaned (`PubSubState.collectFree`). */
  readonly #free: number[] = [];
  /** Notes this side's CPU for the subscribers' spinners. */
  readonly #cpu: Spinner;
  #closed = false;

  static {
    make = (port, spin) => new Publisher(port, spin);
  }

  private constructor(port: Port, spin: number) {
    this.#port = port;
    this.#spin = spin;
    this.#cpu = new Spinner(port.words, C.pubCpu, C.pubCpu, C.pubWaiting, spin);
    guard(this, stopPublishing.bind(null, port));
  }

  /**
   * Creates the service `name` (a new segment) with this process as its publisher.
   * A name whose publisher closed or died is taken over (exactly one of several
   * processes trying at once wins); that service's subscribers see it gone.
   *
   * @throws {TypeError|RangeError} for bad options, before anything is created.
   * @throws {ShmError} `EEXIST` when a live publisher has the name, another process is taking it over
   *   at the same moment, or the name holds something else; what `Segment.create` throws.
   * @example Create a service with history
   * ```ts
   * import { Publisher, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * using pub = Publisher.create(uniqueName(), { sampleSize: 4096, history: 2, policy: "drop-oldest" });
   * assert.ok(pub.sampleSize === 4096 && pub.subscribers === 0);
   * ```
   */
  static create(name: string, options: PublisherOptions): Publisher {
    const o = readOptions(options, "Publisher.create", KEYS);
    const depth = count(o.depth, "depth", 4);
    const policy = o.policy ?? "block";
    if (policy !== "block" && policy !== "drop-oldest") {
      throw new TypeError(`Option 'policy' must be "block" or "drop-oldest", got ${describe(policy)}`);
    }
    const layout = computeLayout({
      sampleSize: count(o.sampleSize, "sampleSize", undefined),
      subscribers: count(o.subscribers, "subscribers", 4),
      depth,
      history: count(o.history, "history", 0, depth),
      loans: count(o.loans, "loans", 2),
      borrows: count(o.borrows, "borrows", 2),
      policy,
    });
    const mode = checkMode(o.mode, 0o600);
    const spin = checkSpin(o.spinMicros);
    const detach = checkBoolean(o.detach, "detach", true);
    const size = SERVICE_HEADER_BYTES + layout.bytes;
    const seg = createPublisherSegment(name, () => Segment.create(name, { size, mode }));
    try {
      return make(lay(seg, layout, detach), spin);
    } catch (error) {
      try {
        unlinkIfSame(seg);
      } finally {
        seg.close();
      }
      throw error;
    }
  }

  /** The service's name. */
  get name(): string {
    return this.#port.seg.name;
  }

  /** Bytes of one sample. */
  get sampleSize(): number {
    return this.#port.layout.sampleSize;
  }

  /** The parameters the service was created with, and the pool size they give. */
  get layout(): PubSubParameters {
    const { subscribers, depth, history, loans, borrows, policy, sampleSize, samples } = this.#port.layout;
    return { subscribers, depth, history, loans, borrows, policy, sampleSize, samples };
  }

  /** Subscribers joined now (one that died counts until the next join or loan takes its slot back). */
  get subscribers(): number {
    return this.#closed ? 0 : this.#port.live();
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#closed;
  }

  #open(): Port {
    if (this.#closed) {
      throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: `Publisher '${this.name}' is closed` });
    }
    return this.#port;
  }

  /**
   * Loans a free sample to fill in place: its `bytes` are the shared memory.
   *
   * @throws {ShmError} `ERR_SAMPLE_LIMIT` when `loans` samples are loaned
   *   already, or when no sample is free because a subscriber keeps more than
   *   its `borrows`; `ERR_USE_AFTER_CLOSE` once closed.
   * @example Loan a sample
   * ```ts
   * import { Publisher, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * using pub = Publisher.create(uniqueName(), { sampleSize: 16 });
   * using sample = pub.loan();  // discarded at the end of the block unless published
   * assert.ok(sample.bytes.length === 16);
   * ```
   */
  loan(): LoanedSample {
    const port = this.#open();
    if (this.#loaned >= port.layout.loans) throw limit(`The publisher holds ${this.#loaned} loans, its limit`);
    const free = this.#free;
    if (free.length === 0) this.#inStep(port, SCAN, 0);
    if (free.length === 0 && port.changing(() => port.reap()) > 0) this.#inStep(port, SCAN, 0);
    const j = free.length === 0 ? -1 : free.pop()!;
    if (j < 0 || this.#loans[j] !== undefined) {
      throw limit(`No sample of ${port.layout.samples} is free: a subscriber holds more than it may`);
    }
    port.state.loan(j);
    const sample = newLoan(this.#hooks, j, port.view(j, port.layout.sampleSize));
    this.#loans[j] = sample;
    this.#loaned++;
    return sample;
  }

  /** A loan given back. */
  #discard(sample: LoanedSample, index: number): void {
    if (this.#loans[index] !== sample) return;
    this.#loans[index] = undefined;
    this.#loaned--;
    this.#port.retire(index);
    this.#port.state.unloan(index);
    this.#free.push(index); // never published: nobody else saw it
  }

  /**
   * Steps 1–6 of publish in docs/pubsub.md: room first (block policy), then
   * the publish step, without the lock unless a change of membership runs.
   */
  #publish(sample: LoanedSample, index: number, length: number, timeoutMs: number | undefined): boolean {
    const timeout = checkTimeout(timeoutMs, "Publish timeout");
    const port = this.#open();
    const { state, words } = port;
    let deadline = -1;
    let full = false;
    this.#cpu.note();
    for (;;) {
      if (full) {
        if (deadline < 0) deadline = timeout === Infinity ? Infinity : now() + timeout;
        if (!this.#roomFor(port, deadline)) return false;
      }
      const n = this.#inStep(port, index, length);
      if (n === FULL) {
        full = true; // step 1: wait for room, then try again
        continue;
      }
      const pushed = this.#pushed;
      for (let k = 0; k < n; k++) {
        const i = pushed[k];
        if (Atomics.load(words, state.slot(i, SLOT.waiting)) !== 0) port.wakeHead(i);
      }
      if (this.#loans[index] === sample) {
        this.#loans[index] = undefined;
        this.#loaned--;
        port.retire(index);
      }
      return true;
    }
  }

  /**
   * Runs step 2–6 of publishing sample `index` (or, with {@link SCAN}, the
   * scan for free samples) as a publish step: without the lock unless a
   * change of membership runs, else under the lock. What the body gives.
   */
  #inStep(port: Port, index: number, length: number): number {
    const words = port.words;
    let n = CHANGING;
    Atomics.store(words, C.publishing, 1);
    try {
      if ((Atomics.load(words, C.membership) & 1) === 0) n = this.#body(port, index, length);
    } finally {
      Atomics.store(words, C.publishing, 0); // also publishes the plain stores of the body (heads, records)
    }
    return n === CHANGING ? port.locked(() => this.#body(port, index, length)) : n;
  }

  #body(port: Port, index: number, length: number): number {
    return index !== SCAN ? this.#step(port, index, length) : (port.state.collectFree(this.#free), 0);
  }

  /**
   * Steps 2–6: the live set, room in each live ring (or its oldest entry
   * dropped), the record, the entries, `published`. How many slots it pushed
   * to (in {@link #pushed}), or {@link FULL} when a live ring has no room.
   */
  #step(port: Port, index: number, length: number): number {
    const { state, words, layout } = port;
    const block = layout.policy === "block";
    const pushed = this.#pushed;
    let n = 0;
    for (let i = 0; i < layout.subscribers; i++) {
      if (words[state.slot(i, SLOT.state)] !== 1) continue; // read after the membership word
      if (!this.#room(port, i)) {
        if (block) return FULL;
        this.#dropOldest(port, i);
      }
      pushed[n++] = i;
    }
    const seq = state.stamp(index, length);
    for (let k = 0; k < n; k++) state.push(pushed[k], index, length, seq);
    words[C.published] = (seq + 1) | 0; // published to joiners by the publishing flag's store
    return n;
  }

  /** Whether slot `i`'s ring has room: by the tail last read, else by tail read again (and checked). */
  #room(port: Port, i: number): boolean {
    const { state, words, layout } = port;
    const head = words[state.slot(i, SLOT.head)]; // this publisher's own word
    const seen = this.#tails[i];
    if (seen !== undefined && ((head - seen) >>> 0) < layout.depth) return true;
    const tail = Atomics.load(words, state.slot(i, SLOT.tail));
    const queued = (head - tail) >>> 0;
    if (queued > layout.depth) throw invalid(`subscriber ${i}'s queue holds ${queued} entries, more than its depth`);
    this.#tails[i] = tail;
    return queued < layout.depth;
  }

  /** Drop-oldest: takes slot `i`'s oldest entry (unless its subscriber took it first) and counts it missed. */
  #dropOldest(port: Port, i: number): void {
    if (port.state.drop(i)) Atomics.add(port.words, port.state.slot(i, SLOT.missed), 1);
  }

  /** Block policy, step 1: waits until every live slot has room; false once the deadline passes. */
  #roomFor(port: Port, deadline: number): boolean {
    const { state, words, layout } = port;
    for (let i = 0; i < layout.subscribers; i++) {
      if (Atomics.load(words, state.slot(i, SLOT.state)) !== 1 || state.roomNow(i)) continue;
      const plan = (this.#plans[i] ??= new RoomPlan(port, i, this.#spin)).begin();
      plan.spinner.note();
      const left = deadline - now();
      const room = left > 0 && block(plan, left, plan.spinner);
      if (port.slotDead(i)) port.changing(() => port.reap());
      else if (!room) return false;
    }
    return true;
  }

  /**
   * Closes the service: subscribers receive what is queued and are then told
   * the publisher is gone; the name is removed (subscribers keep their
   * mapping until they close). Idempotent. The name is removed only while it
   * still names this service: when somebody removed it and another service
   * was created under it since, that one keeps it.
   *
   * @example Close
   * ```ts
   * import { Publisher, uniqueName } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const pub = Publisher.create(uniqueName(), { sampleSize: 16 });
   * pub.close();
   * assert.ok(pub.closed);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const port = this.#port;
    for (const sample of this.#loans) if (sample !== undefined) endLoanView(sample);
    this.#loans.length = 0;
    this.#loaned = 0;
    unguard(this);
    stopPublishing(port);
  }

  /** Closes. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The close protocol of a publisher (its close(), or its GC backstop): remove
 * the name, mark the service closed, wake every subscriber, close the segment.
 */
function stopPublishing(port: Port): void {
  try {
    // While this publisher is still live, so that no process takes the name over between the check and the removal.
    unlinkIfSame(port.seg);
  } catch {
    // Not removable (the platform refused): the segment is closed all the same.
  }
  try {
    Atomics.store(port.words, C.pubState, PUB_CLOSED);
    for (let i = 0; i < port.layout.subscribers; i++) port.wakeHead(i);
  } finally {
    port.seg.close();
  }
}

/** Lays out a fresh segment (header, control, publisher record) and marks it ready. */
function lay(seg: Segment, layout: PubSubLayout, detach: boolean): Port {
  const bytes = seg.region(0, SERVICE_HEADER_BYTES).bytes(); // not the whole: Bun cannot view one past 4 GiB
  const header = {
    kind: "publish-subscribe",
    version: PUBSUB_VERSION,
    layoutOffset: SERVICE_HEADER_BYTES,
    totalBytes: SERVICE_HEADER_BYTES + layout.bytes,
    creatorPid: self().pid,
  } as const;
  writeServiceHeader(bytes, header);
  const control = seg.region(SERVICE_HEADER_BYTES, 256).array(Int32Array);
  writeLayout(control, layout);
  const me = self();
  control[C.pubPid] = me.pid;
  new Float64Array(control.buffer, control.byteOffset, 32)[C.pubStart64] = me.start;
  control[C.pubCpu] = -1;
  Atomics.store(control, C.pubState, PUB_LIVE);
  markServiceReady(bytes);
  notify(seg.region(12, 4).array(Int32Array), 0);
  return new Port(seg, header, detach);
}
