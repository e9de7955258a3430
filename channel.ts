/**
 * A zero-copy message channel between processes: a ring buffer of
 * variable-length byte messages in shared memory.
 *
 * @module
 */
import { checkTimeout, integer } from "./internal/options.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import type { Region } from "./region.ts";
import { wake } from "./internal/wait_loop.ts";
import { HEADER, I_CLOSED, readHeader, RECORD, writeHeader } from "./channel/layout.ts";
import { Ring } from "./channel/ring.ts";
import { Receiver } from "./channel/receiver.ts";
import { Sender } from "./channel/sender.ts";
import { live } from "./channel/side.ts";
import { createArguments, openArguments } from "./channel/options.ts";
import type { ChannelCreateOptions, ChannelOpenOptions } from "./channel/options.ts";

export type { ChannelCreateOptions, ChannelOpenOptions } from "./channel/options.ts";

/**
 * A one-way channel of byte messages between two processes (or threads),
 * living in a {@link Region} of shared memory. `send()` copies a message in;
 * `reserve()`/`commit()` lets the sender write it in place; `recv()` copies
 * one out; `recvInPlace()`/`release()` lets the receiver read it in place.
 * Every blocking call has an async twin that keeps the event loop running,
 * and a timeout.
 *
 * **Who may use it.** One sender and one receiver at a time (single
 * producer, single consumer). Any process may be the sender or the
 * receiver, and the roles may pass from process to process, as long as two
 * never send at the same time and two never receive at the same time (guard
 * with a lock if they might). `close()` is safe from anywhere, at any time.
 *
 * **Waiting.** A full ring makes `send` wait (backpressure) or, with a
 * timeout of 0 / `trySend`, return false. An empty ring makes `recv` wait.
 * A blocked call adapts to where the other side runs (each side notes its
 * CPU in the header): while the other side is awake on another CPU it spins
 * for up to `spinMicros`; while it is awake on the same CPU it never spins
 * but yields the CPU to it (`sched_yield`, a few times); then it sleeps on a
 * futex word that the other side wakes only when it sees the sleeper's
 * flag, so a send or recv with nobody asleep makes no system call. Where
 * the CPU is unknown (macOS, Windows) it sleeps at once. The async calls
 * spin the same way but never yield, then sleep off the main thread, and
 * keep the process alive while they wait.
 *
 * **Closing.** `close()` (either side) marks the channel closed and wakes
 * every waiter. After that `send` throws `ERR_CHANNEL_CLOSED`, while `recv`
 * still returns the messages already in the ring and then `null`.
 *
 * **Untrusted memory.** Every field read from the shared memory is checked
 * before use (positions, their distance, record states, wrap markers): a
 * header or record that no channel could have written makes the call throw
 * `ShmError` `ERR_CHANNEL_INVALID` instead of looping or reading outside the
 * ring, and so does every later call on that object.
 *
 * **Layout.** The bytes in shared memory (version 4) are specified in
 * `docs/channel.md` in the repository, for programs in other languages: a
 * 192-byte header, then a ring of records that the receiver polls one by
 * one (each record's own state word, which the sender stores last).
 *
 * @example Send and receive
 * ```ts
 * import { Channel, Segment, uniqueName } from "./mod.ts";
 *
 * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
 * const tx = Channel.create(seg);        // initialises the header
 * const rx = Channel.open(seg);          // usually in another process
 * tx.send(new TextEncoder().encode("hello"));
 * new TextDecoder().decode(rx.recv()!);  // "hello"
 * tx.close();
 * rx.recv();                             // null: closed and drained
 * seg.unlink();
 * ```
 */
export class Channel {
  readonly #h: Int32Array;
  readonly #cap: number;
  readonly #tx: Sender;
  readonly #rx: Receiver;

  private constructor(region: Region, capacity: number, spin: number) {
    const h = region.region(0, HEADER).array(Int32Array);
    const ring = new Ring(h, region.region(HEADER, capacity).bytes(), capacity);
    this.#h = h;
    this.#cap = capacity;
    this.#tx = new Sender(h, ring, spin);
    this.#rx = new Receiver(h, ring, spin);
    this.#tx.peer = this.#rx.side;
    this.#rx.peer = this.#tx.side;
  }

  /**
   * Lays out a new, empty channel in `region` (or a whole Segment) and
   * returns it. Do this once, in one process, before anyone opens it.
   *
   * @param region Writable shared memory, 8-byte aligned, at least 256 bytes.
   * @param options `capacity` (default: all the region holds, at most 2^30),
   *   `spinMicros` (default 50).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {TypeError} for a region that is not one, or read-only.
   * @throws {RangeError} for a bad capacity or a region too small or misaligned.
   * @example A channel in one part of a segment
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 20 });
   * const ch = Channel.create(seg.region(4096), { capacity: 64 * 1024 });
   * ch.maxMessage; // 65528
   * seg.unlink();
   * ```
   */
  static create(region: Region | MappedMemory, options?: ChannelCreateOptions): Channel {
    const { r, capacity, spin } = createArguments(region, options);
    writeHeader(r.region(0, HEADER).array(Int32Array), r.region(HEADER, 8).array(Int32Array), capacity);
    return new Channel(r, capacity, spin);
  }

  /**
   * Attaches to a channel that `create` laid out, checking its header.
   *
   * @param region The same shared memory that was given to `create` (a Segment or a Region).
   * @param options `spinMicros` (default 50).
   * @throws {TypeError} for an unknown option key (the message names the closest known one), before any system call.
   * @throws {ShmError} `ERR_CHANNEL_INVALID` when the header has a bad magic,
   *   version or size.
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * const name = uniqueName();
   * using seg = Segment.create(name, { size: 1 << 16 });
   * Channel.create(seg);
   * using peer = Segment.open(name);    // in another process
   * const rx = Channel.open(peer);
   * rx.recv(0); // null: nothing yet
   * seg.unlink();
   * ```
   */
  static open(region: Region | MappedMemory, options?: ChannelOpenOptions): Channel {
    const { r, spin } = openArguments(region, options);
    return new Channel(r, readHeader(r.region(0, HEADER).array(Int32Array), r.length), spin);
  }

  /** Bytes of the data area. */
  get capacity(): number {
    return this.#cap;
  }

  /** The largest message, in bytes: capacity − 8. */
  get maxMessage(): number {
    return this.#cap - RECORD;
  }

  /** True once either side called `close()`. */
  get closed(): boolean {
    return live(this.#h) && Atomics.load(this.#h, I_CLOSED) !== 0;
  }

  #checkSize(n: unknown, what: string): number {
    if (typeof n !== "number") throw new TypeError(`${what} must be a number of bytes, got ${typeof n}`);
    if (!Number.isInteger(n) || n < 0 || n > this.#cap - RECORD) {
      throw new RangeError(
        `${what} must be an integer from 0 to ${this.#cap - RECORD} (the channel's largest message), got ${n}`,
      );
    }
    return integer(n);
  }

  // ----- the sender's side -----

  /**
   * Reserves room for a message of `n` bytes and returns it, in place in the
   * shared memory, to fill; `commit()` then sends it. Waits while the ring
   * is full.
   *
   * @param n Bytes, from 0 to `maxMessage`.
   * @param timeoutMs How long to wait for room. Default: forever; 0: do not wait.
   * @returns The bytes to fill, or `null` when no room came in time.
   * @throws {RangeError} when `n` is larger than `maxMessage`.
   * @throws {ShmError} `ERR_CHANNEL_CLOSED` when the channel is closed.
   * @example Write a frame in place
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 20 });
   * const tx = Channel.create(seg);
   * const bytes = tx.reserve(4 * 256)!;                // 8-byte aligned, in shared memory
   * const frame = new Float32Array(bytes.buffer, bytes.byteOffset, 256);
   * frame.fill(0.5);                                   // written straight into the ring
   * tx.commit();
   * seg.unlink();
   * ```
   */
  reserve(n: number, timeoutMs?: number): Uint8Array | null {
    // A size that is already a valid integer skips the checks' calls (the common case, on every message).
    const size = typeof n === "number" && (n | 0) === n && n >= 0 && n <= this.#cap - RECORD
      ? n
      : this.#checkSize(n, "Message size");
    return this.#tx.reserve(size, timeoutMs === undefined ? Infinity : checkTimeout(timeoutMs));
  }

  /**
   * Like {@link Channel.reserve}, without blocking the event loop.
   *
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const tx = Channel.create(seg);
   * const bytes = (await tx.reserveAsync(3))!;
   * bytes.set([1, 2, 3]);
   * tx.commit();
   * seg.unlink();
   * ```
   */
  async reserveAsync(n: number, timeoutMs?: number): Promise<Uint8Array | null> {
    this.#checkSize(n, "Message size");
    return await this.#tx.reserveAsync(n, checkTimeout(timeoutMs));
  }

  /**
   * Sends the message `reserve()` returned, with its first `length` bytes
   * (default: all it reserved).
   *
   * @throws {Error} when nothing is reserved.
   * @throws {RangeError} when `length` is more than was reserved.
   * @throws {ShmError} `ERR_CHANNEL_CLOSED` when the channel was closed meanwhile.
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const tx = Channel.create(seg);
   * const bytes = tx.reserve(100)!;
   * const n = new TextEncoder().encodeInto("short", bytes).written;
   * tx.commit(n); // sends 5 bytes
   * seg.unlink();
   * ```
   */
  commit(length?: number): void {
    this.#tx.commit(length);
  }

  #bytes(message: unknown): Uint8Array {
    if (message instanceof Uint8Array) return message;
    if (ArrayBuffer.isView(message)) return new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    throw new TypeError(
      `A message must be a Uint8Array or another ArrayBuffer view, got ${message === null ? "null" : typeof message}`,
    );
  }

  /**
   * Sends a copy of `message`. Waits while the ring is full (backpressure).
   *
   * @param message The bytes (any typed array or DataView), at most `maxMessage`.
   * @param timeoutMs How long to wait for room. Default: forever; 0: do not wait.
   * @returns true when sent, false when no room came in time.
   * @throws {RangeError} when the message is larger than `maxMessage`.
   * @throws {ShmError} `ERR_CHANNEL_CLOSED` when the channel is closed.
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const tx = Channel.create(seg);
   * tx.send(new Uint8Array([1, 2, 3]));
   * tx.send(new Float64Array([Math.PI]), 100); // waits at most 100 ms for room
   * seg.unlink();
   * ```
   */
  send(message: ArrayBufferView, timeoutMs?: number): boolean {
    const bytes = this.#bytes(message);
    const target = this.reserve(this.#checkSize(bytes.length, "Message size"), timeoutMs);
    if (target === null) return false;
    target.set(bytes);
    this.commit();
    return true;
  }

  /**
   * Sends a copy of `message` if there is room now; never waits.
   *
   * @returns false when the ring is full.
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const tx = Channel.create(seg);
   * while (tx.trySend(new Uint8Array(100))); // fill it up
   * seg.unlink();
   * ```
   */
  trySend(message: ArrayBufferView): boolean {
    return this.send(message, 0);
  }

  /**
   * Like {@link Channel.send}, without blocking the event loop.
   *
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const tx = Channel.create(seg);
   * await tx.sendAsync(new Uint8Array([1, 2, 3]));
   * seg.unlink();
   * ```
   */
  async sendAsync(message: ArrayBufferView, timeoutMs?: number): Promise<boolean> {
    const bytes = this.#bytes(message);
    const n = this.#checkSize(bytes.length, "Message size");
    const timeout = checkTimeout(timeoutMs);
    // Room now: the same fast path as send(), with no wait loop in between.
    const target = this.#tx.quick(n) ?? await this.#tx.reserveAsync(n, timeout);
    if (target === null) return false;
    target.set(bytes);
    this.commit();
    return true;
  }

  // ----- the receiver's side -----

  /**
   * Receives the next message in place: a view of the shared memory, valid
   * until `release()`, which frees its room for the sender. Zero-copy.
   *
   * @param timeoutMs How long to wait for a message. Default: forever; 0: do not wait.
   * @returns The message, or `null` when none came in time or the channel
   *   is closed and drained (`closed` tells which).
   * @example Read a frame in place
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * ch.send(new Uint8Array([7, 8, 9]));
   * const frame = ch.recvInPlace()!;
   * const sum = frame.reduce((a, b) => a + b, 0); // 24, read from shared memory
   * ch.release();                                 // frame's bytes may now be overwritten
   * seg.unlink();
   * ```
   */
  recvInPlace(timeoutMs?: number): Uint8Array | null {
    return this.#rx.recvInPlace(timeoutMs === undefined ? Infinity : checkTimeout(timeoutMs));
  }

  /**
   * Like {@link Channel.recvInPlace}, without blocking the event loop.
   *
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * ch.send(new Uint8Array([1]));
   * const m = (await ch.recvInPlaceAsync())!;
   * ch.release();
   * seg.unlink();
   * ```
   */
  async recvInPlaceAsync(timeoutMs?: number): Promise<Uint8Array | null> {
    return await this.#rx.recvInPlaceAsync(checkTimeout(timeoutMs));
  }

  /**
   * Frees the message `recvInPlace()` returned; its bytes may then be
   * overwritten by the sender at any time.
   *
   * @throws {Error} when no message is held.
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * ch.send(new Uint8Array(8));
   * ch.recvInPlace();
   * ch.release();
   * seg.unlink();
   * ```
   */
  release(): void {
    this.#rx.release();
  }

  /**
   * Receives a copy of the next message.
   *
   * @param timeoutMs How long to wait for a message. Default: forever; 0: do not wait.
   * @returns The message, or `null` when none came in time or the channel
   *   is closed and drained (`closed` tells which).
   * @example Receive until the sender closes
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * ch.send(new Uint8Array([1]));
   * ch.close();
   * for (let m = ch.recv(); m !== null; m = ch.recv()) console.log(m);
   * seg.unlink();
   * ```
   */
  recv(timeoutMs?: number): Uint8Array | null {
    const m = this.recvInPlace(timeoutMs);
    if (m === null) return null;
    const copy = m.slice();
    this.release();
    return copy;
  }

  /**
   * Like {@link Channel.recv}, without blocking the event loop.
   *
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * setTimeout(() => ch.send(new Uint8Array([42])), 10);
   * const m = await ch.recvAsync(1000); // Uint8Array [42]
   * seg.unlink();
   * ```
   */
  async recvAsync(timeoutMs?: number): Promise<Uint8Array | null> {
    const timeout = checkTimeout(timeoutMs);
    // A message there now: the same fast path as recv(), with no wait loop in between.
    const m = this.#rx.quick() ?? await this.#rx.recvInPlaceAsync(timeout);
    if (m === null) return null;
    const copy = m.slice();
    this.release();
    return copy;
  }

  /**
   * Async iteration over the messages (copies) until the channel is closed
   * and drained.
   *
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * ch.send(new Uint8Array([1]));
   * ch.close();
   * for await (const m of ch) console.log(m.length);
   * seg.unlink();
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const m = await this.recvAsync();
      if (m === null) return;
      yield m;
    }
  }

  /**
   * Closes the channel for both sides and wakes every waiter: `send` then
   * throws `ERR_CHANNEL_CLOSED` and `recv` returns what is left, then `null`.
   * Idempotent. The memory stays mapped: close the Segment separately.
   *
   * @example
   * ```ts
   * import { Channel, Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 1 << 16 });
   * const ch = Channel.create(seg);
   * ch.close();
   * ch.closed; // true
   * seg.unlink();
   * ```
   */
  close(): void {
    const h = this.#h;
    if (h.length === 0) return;
    Atomics.exchange(h, I_CLOSED, 1);
    for (const { side } of [this.#rx, this.#tx]) {
      Atomics.store(h, side.word.index, 0);
      wake(side.word, 0x7fffffff);
    }
  }

  /** Closes; lets `using` close the channel at the end of a block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
