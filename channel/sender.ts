/**
 * The sending side of a Channel: claims room at head, waits for it, and
 * publishes records.
 *
 * @module
 */
import { block, blockAsync, Spinner } from "../internal/wait_loop.ts";
import { I_CLOSED, RECEIVER, recordBytes, SENDER } from "./layout.ts";
import { MUST_WRAP } from "./ring.ts";
import type { Ring } from "./ring.ts";
import { closedError, live, Side } from "./side.ts";

export class Sender {
  readonly side: Side;
  /** The receiving side, to wake. */
  peer: Side | undefined;
  readonly #h: Int32Array;
  readonly #ring: Ring;
  readonly #spin: Spinner;
  /** Record bytes the pending reserve waits for. */
  #record = 0;
  /** Where the last check found room: data offset (or -1) and head there. */
  #at = -1;
  #atHead = 0;
  /** Data offset of the record reserved and not yet committed, or -1; its bytes and head. */
  #reservedAt = -1;
  #reservedBytes = 0;
  #reservedHead = 0;

  constructor(h: Int32Array, ring: Ring, spin: number) {
    this.#h = h;
    this.#ring = ring;
    this.#spin = new Spinner(h, SENDER.cpu, RECEIVER.cpu, RECEIVER.hint, spin);
    this.side = new Side(h, SENDER, () => this.#claim(), () => Atomics.load(h, RECEIVER.position));
  }

  /** Whether #record bytes fit at head now (writing a wrap marker first if needed); sets #at and #atHead. */
  #claim(): boolean {
    const ring = this.#ring;
    let at = ring.fit(this.#record);
    if (at === MUST_WRAP) {
      if (!ring.wrap()) this.peer!.wake(); // the receiver must skip the marker itself
      at = ring.fit(this.#record);
    }
    this.#at = at;
    this.#atHead = ring.head;
    return at >= 0;
  }

  #start(n: number): void {
    live(this.#h);
    if (this.#reservedAt >= 0) throw new Error("commit() the reserved message before reserving another");
    if (this.#h[I_CLOSED] !== 0) throw closedError();
    this.#spin.note();
    this.#record = recordBytes(n);
  }

  #finish(ok: boolean, n: number): Uint8Array | null {
    if (!ok) return null;
    if (this.#h[I_CLOSED] !== 0) throw closedError();
    if (this.#at < 0) return null;
    return this.#reserved(this.#at, this.#atHead, n);
  }

  #reserved(at: number, head: number, n: number): Uint8Array {
    this.#reservedAt = at;
    this.#reservedHead = head;
    this.#reservedBytes = n;
    return this.#ring.payload(at, n);
  }

  /**
   * Room for `n` bytes (checked), waiting up to `timeout` ms (checked), or
   * null. The fast path, taken while the ring has room before its end, reads
   * the closed word (undefined once the memory is closed: then the slow path
   * throws) and the sender's own head, and writes nothing shared.
   */
  reserve(n: number, timeout: number): Uint8Array | null {
    return this.quick(n) ?? this.#reserve(n, timeout);
  }

  #reserve(n: number, timeout: number): Uint8Array | null {
    this.#start(n);
    return this.#finish(this.#claim() || block(this.side, timeout, this.#spin), n);
  }

  /**
   * The fast path of a reserve: room for `n` bytes (checked) before the end
   * of the ring now, or null (then the full path decides: wrap, wait, throw).
   * The async calls take it too, so a send that need not wait never makes a
   * promise wait for the wait loop.
   */
  quick(n: number): Uint8Array | null {
    if (this.#h[I_CLOSED] !== 0 || this.#reservedAt >= 0) return null;
    this.#spin.note();
    const ring = this.#ring;
    const at = ring.fit(recordBytes(n));
    return at >= 0 ? this.#reserved(at, ring.head, n) : null;
  }

  async reserveAsync(n: number, timeout: number): Promise<Uint8Array | null> {
    const quick = this.quick(n);
    if (quick !== null) return quick;
    this.#start(n);
    return this.#finish(this.#claim() || await blockAsync(this.side, timeout, this.#spin), n);
  }

  /** Publishes the reserved record; the fast path is taken when all of it is sent and the memory is open. */
  commit(length?: number): void {
    const h = this.#h;
    const at = this.#reservedAt;
    if (at < 0 || length !== undefined || h[I_CLOSED] !== 0) return this.#commit(length);
    this.#reservedAt = -1;
    this.#ring.publish(at, this.#reservedHead, this.#reservedBytes);
    if (Atomics.load(h, RECEIVER.hint) !== 0) this.peer!.wake();
  }

  #commit(length: number | undefined): void {
    live(this.#h);
    const at = this.#reservedAt;
    const n = this.#reservedBytes;
    if (at < 0) throw new Error("Nothing to commit: reserve() a message first");
    let len = n;
    if (length !== undefined) {
      if (typeof length !== "number") throw new TypeError(`Commit length must be a number, got ${typeof length}`);
      if (!Number.isInteger(length) || length < 0 || length > n) {
        throw new RangeError(`Commit length must be an integer from 0 to ${n} (the bytes reserved), got ${length}`);
      }
      len = length;
    }
    this.#reservedAt = -1;
    if (this.#h[I_CLOSED] !== 0) throw closedError();
    this.#ring.publish(at, this.#reservedHead, len);
    this.peer!.wake();
  }
}
