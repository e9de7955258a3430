/**
 * What the publisher and a subscriber share in one process: the mapped
 * service, its checked layout and state, the control lock, the liveness of a
 * peer, zero-copy views of samples that detach on their own, and the one
 * place that waits.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { Mutex } from "../mutex.ts";
import type { Segment } from "../segment.ts";
import { SlotViews } from "../internal/slot_views.ts";
import { now, processProbe, yieldCpu } from "../platform/mod.ts";
import { wait } from "../wait.ts";
import { wake, wordAt } from "../internal/wait_loop.ts";
import type { Word } from "../internal/wait_loop.ts";
import { headerOf, SERVICE_FIELD, SERVICE_HEADER_BYTES } from "../service/header.ts";
import type { ServiceHeader } from "../service/header.ts";
import { C, CONTROL_BYTES, invalid, readLayout, SLOT } from "./layout.ts";
import type { PubSubLayout } from "./layout.ts";
import { PubSubState } from "./state.ts";

/** How long the control lock may stay taken by a live process. */
const LOCK_MS = 1000;
/** Wakes every sleeper on a word. */
const ALL = 2 ** 31 - 1;

/** This process as the process probe sees it. */
export function self(): { pid: number; start: number } {
  return processProbe().self();
}

/** False only when process `pid` started at `start` has certainly ended. */
export function alive(pid: number, start: number): boolean {
  const me = self();
  if (pid === me.pid) return start === me.start;
  return processProbe().alive(pid, start);
}

/** The service as one process maps it. */
export class Port {
  readonly seg: Segment;
  readonly header: ServiceHeader;
  readonly layout: PubSubLayout;
  readonly state: PubSubState;
  readonly words: Int32Array;
  /** Float64 view of the control and slot areas (process start times). */
  readonly f64: Float64Array;
  readonly lock: Mutex;
  readonly #payload: number;
  readonly #heads: Word[] = [];
  /** The views of the samples. */
  readonly #views: SlotViews;
  readonly #tails: Word[] = [];

  constructor(seg: Segment, header: ServiceHeader, detach = true) {
    this.seg = seg;
    this.header = header;
    const base = header.layoutOffset;
    if (header.totalBytes - base < CONTROL_BYTES) throw invalid("the layout is smaller than its control area");
    const control = seg.region(base, CONTROL_BYTES).array(Int32Array);
    this.layout = readLayout(control, header);
    this.words = seg.region(base, this.layout.payloadOffset).array(Int32Array);
    this.f64 = seg.region(base, this.layout.queuesOffset).array(Float64Array);
    this.state = new PubSubState(this.words, this.layout);
    this.lock = new Mutex(seg.region(base + 64, Mutex.BYTES));
    // Views detach when their sample is released or published, or else only when the port closes.
    this.#views = new SlotViews(seg, detach);
    this.#payload = base + this.layout.payloadOffset;
    for (let i = 0; i < this.layout.subscribers; i++) {
      this.#heads.push(wordAt(this.words, this.state.slot(i, SLOT.head)));
      this.#tails.push(wordAt(this.words, this.state.slot(i, SLOT.tail)));
    }
  }

  /** Wakes whoever sleeps on slot `i`'s head (its subscriber's receives). */
  wakeHead(i: number): void {
    wake(this.#heads[i], ALL);
  }

  /** Wakes the publisher if it sleeps on slot `i`'s tail. */
  wakeTail(i: number): void {
    wake(this.#tails[i], 1);
  }

  /**
   * A zero-copy view of the first `length` bytes of sample `j` (see
   * {@link SlotViews}): {@link retire} detaches it, closing the port does too.
   * Without `detach`, each sample's last view is handed out again and only
   * closing the port detaches them.
   */
  view(j: number, length: number): Uint8Array {
    return this.#views.view(this.#payload + j * this.layout.stride, this.layout.sampleSize, length);
  }

  /** Detaches the views of sample `j` from {@link view} (when this port detaches views). */
  retire(j: number): void {
    this.#views.retire(this.#payload + j * this.layout.stride);
  }

  /**
   * Runs `body` under the control lock. A holder that finds the membership
   * word odd took the lock from a change that died half-way: it makes the
   * word even again (what that change left is repaired as docs/pubsub.md says).
   */
  locked<T>(body: () => T): T {
    try {
      if (this.lock.tryLock() === "busy" && this.lock.lock(LOCK_MS) === "timed-out") {
        throw invalid(`a live process has held the control lock for more than ${LOCK_MS} ms`);
      }
    } catch (error) {
      throw lockError(error);
    }
    let result: T;
    try {
      if ((Atomics.load(this.words, C.membership) & 1) !== 0) Atomics.add(this.words, C.membership, 1);
      result = body();
    } catch (error) {
      this.#unlock();
      throw error;
    }
    this.#unlock();
    return result;
  }

  #unlock(): void {
    try {
      this.lock.unlock();
    } catch (error) {
      throw lockError(error);
    }
  }

  /**
   * Runs `body` as a change of membership (join, leave, taking over dead
   * slots): under the lock, with the membership word odd, once no publish
   * step runs. A publish step that starts meanwhile sees the odd word and
   * waits for the lock instead.
   */
  changing<T>(body: () => T): T {
    return this.locked(() => {
      const w = this.words;
      Atomics.add(w, C.membership, 1);
      try {
        this.#awaitPublishStep();
        return body();
      } finally {
        Atomics.add(w, C.membership, 1);
      }
    });
  }

  /** Waits while the publisher runs a publish step without the lock (a few steps that never wait), or until it is gone. */
  #awaitPublishStep(): void {
    const w = this.words;
    if (Atomics.load(w, C.publishing) === 0) return;
    const deadline = now() + LOCK_MS;
    for (let k = 1; Atomics.load(w, C.publishing) !== 0; k++) {
      if ((k & 15) === 0) {
        if (this.publisherGone() !== undefined) return; // it died (or closed) in the step
        if (now() > deadline) throw invalid(`a live publisher stayed in one publish step for more than ${LOCK_MS} ms`);
      }
      yieldCpu();
    }
  }

  /** Whether the publisher closed or died. */
  publisherGone(): "closed" | "died" | undefined {
    const state = Atomics.load(this.words, C.pubState);
    if (state !== 1) return "closed";
    const pid = Atomics.load(this.words, C.pubPid) >>> 0;
    return alive(pid, this.f64[C.pubStart64]) ? undefined : "died";
  }

  /** Whether slot `i` is live with an owner that has died. */
  slotDead(i: number): boolean {
    const s = this.state;
    if (Atomics.load(this.words, s.slot(i, SLOT.state)) !== 1) return false;
    const pid = Atomics.load(this.words, s.slot(i, SLOT.pid)) >>> 0;
    return !alive(pid, this.f64[s.slot(i, 0) / 2 + SLOT.start64]);
  }

  /** Frees every slot whose owner died (call under the lock): their held and queued samples come back. */
  reap(): number {
    let n = 0;
    for (let i = 0; i < this.layout.subscribers; i++) {
      if (!this.slotDead(i)) continue;
      this.state.forget(i);
      Atomics.store(this.words, this.state.slot(i, SLOT.state), 0);
      n++;
    }
    return n;
  }

  /** Live subscriber slots now. */
  live(): number {
    let n = 0;
    for (let i = 0; i < this.layout.subscribers; i++) {
      if (Atomics.load(this.words, this.state.slot(i, SLOT.state)) === 1) n++;
    }
    return n;
  }
}

/**
 * What a Mutex error of the control lock means: its word was overwritten
 * (taken from this process while it held it, or naming this thread), which
 * only corrupt memory does.
 */
function lockError(error: unknown): unknown {
  if (!(error instanceof ShmError) || !error.code.startsWith("ERR_MUTEX_")) return error;
  return invalid(`the control lock's word was overwritten (${error.code}: ${error.message})`);
}

/** The header of a service being opened: waits (up to `timeoutMs`) while its creator is still writing it. */
export function awaitHeader(seg: Segment, timeoutMs: number): ServiceHeader {
  const deadline = now() + timeoutMs;
  if (seg.size < SERVICE_HEADER_BYTES) throw invalid(`'${seg.name}' is smaller than a service header`);
  const state = seg.region(SERVICE_FIELD.state, 4).array(Int32Array);
  const magic = seg.region(SERVICE_FIELD.magic, 4).array(Uint32Array);
  for (;;) {
    let header = headerOf(seg);
    if (header === "foreign" && magic[0] === 0) header = "initialising"; // created, header not written yet
    if (header === "foreign") {
      throw new ShmError({
        code: "ERR_SERVICE_INVALID",
        errno: 0,
        message: `Segment '${seg.name}' is not a shmem service`,
      });
    }
    if (header !== "initialising") {
      if (header.kind !== "publish-subscribe") throw invalid(`'${seg.name}' is a ${header.kind} service`);
      return header;
    }
    const left = deadline - now();
    if (left <= 0) {
      throw invalid(`its creator did not finish laying out '${seg.name}' within ${timeoutMs} ms`);
    }
    wait(state, 0, 0, Math.min(left, 50));
  }
}

/** The error of a receive once the publisher is gone and the queue is empty. */
export function goneError(how: "closed" | "died"): ShmError {
  return new ShmError({
    code: "ERR_PUBLISHER_GONE",
    errno: 0,
    message: how === "closed" ? "The publisher closed the service" : "The publisher's process ended without closing",
    hint: "Every sample it published was received; open the service again once a new publisher creates it",
  });
}
