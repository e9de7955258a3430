/**
 * The receiving side of a Channel: polls the record at tail, waits for one,
 * and frees it.
 *
 * @module
 */
import { block, blockAsync, Spinner } from "../internal/wait_loop.ts";
import { I_CLOSED, RECEIVER, SENDER } from "./layout.ts";
import { MARKER, NOTHING } from "./ring.ts";
import type { Ring } from "./ring.ts";
import { live, Side } from "./side.ts";

/** Wrap markers one receive may meet before the memory counts as corrupt (a valid ring has at most one in a row). */
const MAX_MARKERS = 4;

export class Receiver {
  readonly side: Side;
  /** The sending side, to wake. */
  peer: Side | undefined;
  readonly #h: Int32Array;
  readonly #ring: Ring;
  readonly #spin: Spinner;
  /** What the last check found: a data offset, or -1. */
  #found = -1;
  /** Taken by recvInPlace and not yet released: data offset (or -1), tail there, payload length. */
  #taken = -1;
  #takenTail = 0;
  #takenLength = 0;

  constructor(h: Int32Array, ring: Ring, spin: number) {
    this.#h = h;
    this.#ring = ring;
    this.#spin = new Spinner(h, RECEIVER.cpu, SENDER.cpu, SENDER.hint, spin);
    this.side = new Side(h, RECEIVER, () => (this.#found = this.#peek()) >= 0, () => ring.watch());
  }

  /** The data offset of the message at tail (skipping wrap markers), or -1 when there is none. */
  #peek(): number {
    const ring = this.#ring;
    for (let i = 0; i < MAX_MARKERS; i++) {
      const at = ring.peek();
      if (at !== MARKER) return at;
      if (ring.skip()) this.peer!.wakeSleeper();
    }
    throw ring.fail(`${MAX_MARKERS} wrap markers in a row during one receive`);
  }

  #start(): void {
    live(this.#h);
    if (this.#taken >= 0) throw new Error("release() the message from recvInPlace() before receiving another");
    this.#spin.note();
  }

  /** The message the check found, or null when closed and drained (or none came). */
  #take(ok: boolean): Uint8Array | null {
    if (!ok) return null;
    const at = this.#found >= 0 ? this.#found : this.#peek();
    this.#found = -1;
    if (at < 0) return null;
    return this.#hold(at);
  }

  /** Holds the message {@link Ring.peek} found at `at` until release. */
  #hold(at: number): Uint8Array {
    const ring = this.#ring;
    this.#taken = at;
    this.#takenTail = ring.tail;
    this.#takenLength = ring.length;
    return ring.payload(at, ring.length);
  }

  /**
   * The next message in place, waiting up to `timeout` ms (checked), or
   * null. The fast path, taken when a message is there, reads tail and the
   * record's state word, and writes nothing.
   */
  recvInPlace(timeout: number): Uint8Array | null {
    if (this.#taken < 0 && this.#h[I_CLOSED] !== undefined) {
      this.#spin.note();
      const ring = this.#ring;
      let at = ring.peek();
      if (at >= 0) return this.#hold(at);
      // Nothing yet: poll the state word where the next record goes, while the sender runs on another CPU.
      if (at === NOTHING && timeout !== 0) {
        let seen = ring.watch();
        for (let i = this.#spin.polls(); i > 0; i--) {
          const v = ring.watch();
          if (v === seen) continue;
          seen = v;
          at = ring.peek(v);
          if (at >= 0) return this.#hold(at);
          if (at !== NOTHING) break;
        }
      }
    }
    this.#start();
    return this.#take((this.#found = this.#peek()) >= 0 || block(this.side, timeout, this.#spin));
  }

  /**
   * The fast path of a receive: the message at tail now, or null (then the
   * full path decides: skip a marker, wait, end). The async calls take it
   * too, so a receive that need not wait never waits for the wait loop.
   */
  quick(): Uint8Array | null {
    if (this.#taken >= 0 || this.#h[I_CLOSED] === undefined) return null;
    this.#spin.note();
    const at = this.#ring.peek();
    return at >= 0 ? this.#hold(at) : null;
  }

  async recvInPlaceAsync(timeout: number): Promise<Uint8Array | null> {
    const quick = this.quick();
    if (quick !== null) return quick;
    this.#start();
    return this.#take((this.#found = this.#peek()) >= 0 || await blockAsync(this.side, timeout, this.#spin));
  }

  /** Frees the held message; the fast path is taken while the memory is open. */
  release(): void {
    const h = this.#h;
    const at = this.#taken;
    if (at < 0 || h[I_CLOSED] === undefined) return this.#release();
    this.#taken = -1;
    if (this.#ring.release(this.#takenTail, this.#takenLength)) this.peer!.wakeSleeper();
  }

  #release(): void {
    live(this.#h);
    const at = this.#taken;
    if (at < 0) throw new Error("Nothing to release: recvInPlace() a message first");
    this.#taken = -1;
    if (this.#ring.release(this.#takenTail, this.#takenLength)) this.peer!.wakeSleeper();
  }
}
