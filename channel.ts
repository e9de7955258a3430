/**
 * A zero-copy message channel between processes: a ring buffer of
 * variable-length byte messages in shared memory.
 *
 * @module
 */
import { checkTimeout, describe, integer, readOptions } from "./internal/options.ts";
import type { OptionKeys } from "./internal/options.ts";
import { ShmError } from "./errors.ts";
import { MappedMemory } from "./mapped_memory.ts";
import { Region } from "./region.ts";
import { currentCpu, yieldCpu } from "./platform/mod.ts";
import { notify, wait, waitAsync } from "./wait.ts";

/** `"SHMC"` read as a native (little-endian) u32. */
const MAGIC = 0x434d4853;
const VERSION = 2;
/** Bytes before the data area. */
const HEADER = 192;
const MIN_CAPACITY = 64;
const MAX_CAPACITY = 2 ** 30;
/** Record header: u32 length, u32 reserved. */
const RECORD = 8;
/** The length that marks "skip to the start of the data area". */
const WRAP = -1;

// Header fields as Int32Array indices (byte offset / 4).
const I_MAGIC = 0;
const I_VERSION = 1;
const I_CAPACITY = 2;
const I_HEADER = 3;
const I_CLOSED = 4;
const I_HEAD = 16; // byte 64
const I_PRODUCER_SLEEPING = 17; // byte 68
const I_PRODUCER_CPU = 18; // byte 72
const I_TAIL = 32; // byte 128
const I_CONSUMER_SLEEPING = 33; // byte 132
const I_CONSUMER_CPU = 34; // byte 136

const DEFAULT_SPIN_MICROS = 50;
/** Yields to a peer on the same CPU before sleeping. */
const YIELDS = 4;

/** Options of {@link Channel.create}. */
export interface ChannelCreateOptions {
  /**
   * Bytes of the data area: a multiple of 8 from 64 to 2^30. The region must
   * hold 192 header bytes more. Default: as much as the region holds (up to
   * 2^30). A message takes its length plus 8, rounded up to a multiple of 8.
   */
  capacity?: number;
  /** See {@link ChannelOpenOptions.spinMicros}. Default 50. */
  spinMicros?: number;
}

/** Options of {@link Channel.open}. */
export interface ChannelOpenOptions {
  /**
   * How long a blocked call may spin, in microseconds, before it sleeps on
   * the futex. It spins only while the other side is running on another CPU
   * (never when both share one: then it yields the CPU instead). Default 50;
   * 0 neither spins nor yields.
   */
  spinMicros?: number;
}

const CREATE_KEYS: OptionKeys<ChannelCreateOptions> = { capacity: true, spinMicros: true };
const OPEN_KEYS: OptionKeys<ChannelOpenOptions> = { spinMicros: true };

function checkSpin(value: unknown): number {
  if (value === undefined) return DEFAULT_SPIN_MICROS;
  if (typeof value !== "number") throw new TypeError(`Option 'spinMicros' must be a number, got ${typeof value}`);
  if (!(value >= 0) || value === Infinity) {
    throw new RangeError(`Option 'spinMicros' must be a finite number of microseconds >= 0, got ${describe(value)}`);
  }
  return value;
}

function toRegion(target: unknown, what: string): Region {
  if (target instanceof Region) return target;
  if (target instanceof MappedMemory) return target.region(0);
  throw new TypeError(`${what} needs a Region or a Segment, got ${target === null ? "null" : typeof target}`);
}

function invalid(message: string): ShmError {
  return new ShmError({ code: "ERR_CHANNEL_INVALID", errno: 0, message });
}

/** A header or record that no Channel can have written: the shared memory was overwritten. */
function corrupt(what: string): ShmError {
  return new ShmError({
    code: "ERR_CHANNEL_INVALID",
    errno: 0,
    message: `The channel's shared memory is corrupt: ${what}`,
    hint:
      "Something other than the channel wrote over it; create the channel again (Channel.create) and reconnect both sides",
  });
}

/** How often one receive may find its position moved under it before the memory counts as corrupt. */
const MAX_RETRIES = 16;

function closedError(): ShmError {
  return new ShmError({ code: "ERR_CHANNEL_CLOSED", errno: 0, message: "The channel is closed" });
}

const align8 = (n: number) => (n + 7) & ~7;

let make: (region: Region, spin: number) => Channel;

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
 * before use (positions, their distance, record lengths, wrap markers): a
 * header or record that no channel could have written makes the call throw
 * `ShmError` `ERR_CHANNEL_INVALID` instead of looping or reading outside the
 * ring.
 *
 * **Layout** (version 2), all fields native byte order (little-endian on
 * every supported platform), offsets from the start of the region, which
 * must be 8-byte aligned (64 recommended):
 *
 * | offset | type | field |
 * |---|---|---|
 * | 0 | u32 | magic `0x434D4853` (the bytes `"SHMC"`), written last by `create` |
 * | 4 | u32 | version, 2 |
 * | 8 | u32 | capacity C: bytes of the data area, multiple of 8, 64..2^30 |
 * | 12 | u32 | header size: offset of the data area, 192 |
 * | 16 | i32 | closed: 0 open, 1 closed |
 * | 64 | u32 | head: bytes written, modulo 2C (written by the sender only) |
 * | 68 | i32 | sender sleeping: futex word, 1 while the sender sleeps for space |
 * | 72 | i32 | sender's last CPU, -1 unknown (a hint for spinning) |
 * | 128 | u32 | tail: bytes consumed, modulo 2C (written by the receiver, and by the sender only to skip a lone wrap marker, see below) |
 * | 132 | i32 | receiver sleeping: futex word, 1 while the receiver sleeps for data |
 * | 136 | i32 | receiver's last CPU, -1 unknown |
 * | 192 | bytes | data area of C bytes |
 *
 * Other bytes up to 192 are zero. Bytes used = (head − tail) mod 2C; the
 * ring is empty when head = tail and full when that is C. A record starts
 * at data offset `head mod C`, always a multiple of 8: a u32 payload length
 * n, a u32 of zero, then the payload (so payloads are 8-byte aligned), the
 * whole record padded to `(n + 15) & ~7` bytes. A record is never split: when
 * it does not fit before the end of the data area, the sender writes the
 * length 0xFFFFFFFF (a wrap marker) at the current offset p and advances head
 * to the start of the next lap (by C − p); the receiver skips it the same way
 * (compare-and-swap of tail from the marker's position to the next lap's
 * start). If the marker is then all the ring holds (tail is still at p), the
 * sender skips it for the receiver with that same compare-and-swap on tail,
 * so the whole data area is free again: any message of at most C − 8 bytes
 * fits into an empty ring, wherever its position. Otherwise the sender wakes
 * the receiver as after any head advance. Because the sender may move tail
 * and then overwrite the marker, a receiver reads tail, head and the record's
 * length word, then reads tail again and starts over if it moved, before it judges any of them. A valid
 * channel always has head and tail multiples of 8 below 2C, (head − tail) mod
 * 2C at most C, every record inside the published bytes and the data area, and
 * never a wrap marker at offset 0. Version 1 lacked the sender's skip (an
 * empty ring could refuse a large message) and is not accepted.
 *
 * Publishing: the sender writes the record, then stores head with a full
 * barrier (an atomic exchange), then reads "receiver sleeping"; if it is 1 it
 * sets it to 0 and calls FUTEX_WAKE on it (a shared futex, not the
 * `_PRIVATE` one). A receiver that finds the ring empty sets "receiver
 * sleeping" to 1 with a full barrier, checks head and closed again, and only
 * then calls FUTEX_WAIT on it with the value 1. The sender's side is the
 * mirror image with tail and "sender sleeping". `close` stores closed = 1,
 * then sets both sleeping words to 0 and wakes both.
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
  readonly #d: Uint8Array;
  readonly #d32: Int32Array;
  readonly #cap: number;
  readonly #mod: number;
  readonly #spin: number;
  #ops = 0;
  /** Data offset of the record `reserve()` claimed and `commit()` has not sent, or -1. */
  #reservedAt = -1;
  /** Bytes reserved there. */
  #reservedBytes = 0;
  /** Head (a position) where the reserved record starts. */
  #reservedHead = 0;
  /** Taken by `recvInPlace()` and not yet released: data offset. */
  #taken = -1;
  /** Tail (a position) and payload length of the message taken. */
  #takenTail = 0;
  #takenLength = 0;
  /** Set by the send check: where the claimed record is (data offset, and head there). */
  #at = 0;
  #atPos = 0;
  /** Set by the receive check (apart, so a send during an async receive on this object cannot move them). */
  #rxAt = 0;
  #rxPos = 0;
  #rxLength = 0;
  /** Whether the last receive check found a message at #at. */
  #found = false;
  /** How many times a blocked call may yield the CPU before sleeping. */
  #yields = 0;

  static {
    make = (region, spin) => new Channel(region, spin);
  }

  private constructor(region: Region, spin: number) {
    this.#h = region.region(0, HEADER).array(Int32Array);
    this.#cap = this.#h[I_CAPACITY];
    this.#mod = 2 * this.#cap;
    const data = region.region(HEADER, this.#cap);
    this.#d = data.bytes();
    this.#d32 = data.array(Int32Array);
    this.#spin = spin;
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
    const r = toRegion(region, "Channel.create");
    const o = readOptions(options, "Channel.create", CREATE_KEYS);
    const spin = checkSpin(o.spinMicros);
    if (r.readOnly) throw new TypeError("Channel.create needs a writable region, got a read-only one");
    if (r.offset % 8 !== 0) throw new RangeError(`A channel's region must start at a multiple of 8, got ${r.offset}`);
    if (r.length < HEADER + MIN_CAPACITY) {
      throw new RangeError(`A channel needs a region of at least ${HEADER + MIN_CAPACITY} bytes, got ${r.length}`);
    }
    const room = Math.min(MAX_CAPACITY, (r.length - HEADER) & ~7);
    let capacity = room;
    if (o.capacity !== undefined) {
      if (typeof o.capacity !== "number") {
        throw new TypeError(`Option 'capacity' must be a number, got ${typeof o.capacity}`);
      }
      capacity = o.capacity;
      if (!Number.isInteger(capacity) || capacity % 8 !== 0 || capacity < MIN_CAPACITY || capacity > room) {
        throw new RangeError(
          `Option 'capacity' must be a multiple of 8 from ${MIN_CAPACITY} to ${room} (what this region holds), got ${capacity}`,
        );
      }
    }
    const h = r.region(0, HEADER).array(Int32Array);
    Atomics.store(h, I_MAGIC, 0);
    h.fill(0, 1);
    h[I_VERSION] = VERSION;
    h[I_CAPACITY] = capacity;
    h[I_HEADER] = HEADER;
    h[I_PRODUCER_CPU] = -1;
    h[I_CONSUMER_CPU] = -1;
    Atomics.store(h, I_MAGIC, MAGIC);
    return make(r, spin);
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
    const r = toRegion(region, "Channel.open");
    const o = readOptions(options, "Channel.open", OPEN_KEYS);
    const spin = checkSpin(o.spinMicros);
    if (r.offset % 8 !== 0) throw new RangeError(`A channel's region must start at a multiple of 8, got ${r.offset}`);
    if (r.length < HEADER + MIN_CAPACITY) {
      throw invalid(`This region (${r.length} bytes) is too small to hold a channel`);
    }
    const h = r.region(0, HEADER).array(Int32Array);
    const magic = Atomics.load(h, I_MAGIC) >>> 0;
    if (magic !== MAGIC) {
      throw invalid(
        `This region holds no channel: magic 0x${magic.toString(16)} instead of 0x${
          MAGIC.toString(16)
        } (create it first)`,
      );
    }
    if (h[I_VERSION] !== VERSION) {
      throw invalid(`The channel has layout version ${h[I_VERSION] >>> 0}; this library speaks version ${VERSION}`);
    }
    const capacity = h[I_CAPACITY] >>> 0;
    if (h[I_HEADER] !== HEADER || capacity % 8 !== 0 || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
      throw invalid(`The channel header is corrupt (capacity ${capacity}, header size ${h[I_HEADER] >>> 0})`);
    }
    if (HEADER + capacity > r.length) {
      throw invalid(
        `The channel needs ${
          HEADER + capacity
        } bytes but the region has ${r.length}: open the same region it was created in`,
      );
    }
    return make(r, spin);
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
    return this.#live() && Atomics.load(this.#h, I_CLOSED) !== 0;
  }

  #live(): boolean {
    if (this.#h.length === 0) {
      throw new ShmError({
        code: "ERR_USE_AFTER_CLOSE",
        errno: 0,
        message: "The memory under this channel was closed",
      });
    }
    return true;
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

  #publishCpu(index: number): void {
    if ((this.#ops++ & 63) === 0) Atomics.store(this.#h, index, currentCpu());
  }

  /** Head or tail, checked: a multiple of 8 below 2C. */
  #position(index: number): number {
    const value = Atomics.load(this.#h, index);
    if (value < 0 || value >= this.#mod || (value & 7) !== 0) {
      throw corrupt(
        `${index === I_HEAD ? "head" : "tail"} is ${
          value >>> 0
        }, not a multiple of 8 below ${this.#mod} (twice the capacity)`,
      );
    }
    return value;
  }

  /** Bytes between tail and head, checked: at most the capacity. */
  #used(head: number, tail: number): number {
    const used = (head - tail + this.#mod) % this.#mod;
    if (used > this.#cap) {
      throw corrupt(`head ${head} is ${used} bytes ahead of tail ${tail}, more than the capacity ${this.#cap}`);
    }
    return used;
  }

  /** Wakes the side whose sleeping flag is `index`, if it sleeps. */
  #wake(index: number): void {
    const h = this.#h;
    if (Atomics.load(h, index) !== 0 && Atomics.exchange(h, index, 0) !== 0) notify(h, index, 1);
  }

  // ----- the sender's side -----

  /**
   * Claims `record` bytes at head (writing a wrap marker first if needed);
   * sets #at and #atPos. A wrap marker that is all the ring holds is skipped
   * here for the receiver, so an empty ring takes any record.
   */
  #claim(record: number): boolean {
    const h = this.#h;
    const cap = this.#cap;
    let head = this.#position(I_HEAD);
    let used = this.#used(head, this.#position(I_TAIL));
    let at = head % cap;
    const before = cap - at;
    if (record > before) {
      if (cap - used < before) return false;
      Atomics.store(this.#d32, at >> 2, WRAP); // published by the exchange below
      const next = (head + before) % this.#mod;
      Atomics.exchange(h, I_HEAD, next);
      if (Atomics.compareExchange(h, I_TAIL, head, next) === head) {
        used = 0; // the marker was all the ring held: skipped, the ring is empty at offset 0
      } else {
        this.#wake(I_CONSUMER_SLEEPING); // the receiver must skip the marker itself
        used = this.#used(next, this.#position(I_TAIL));
      }
      head = next;
      at = 0;
    }
    if (cap - used < record) return false;
    this.#at = at;
    this.#atPos = head;
    return true;
  }

  #sendReady = (record: number): boolean => this.#claim(record) || Atomics.load(this.#h, I_CLOSED) !== 0;

  #startReserve(n: number): number {
    this.#live();
    if (this.#reservedAt >= 0) throw new Error("commit() the reserved message before reserving another");
    if (this.#h[I_CLOSED] !== 0) throw closedError();
    this.#publishCpu(I_PRODUCER_CPU);
    return align8(RECORD + n);
  }

  #finishReserve(ok: boolean, n: number): Uint8Array | null {
    if (!ok) return null;
    if (this.#h[I_CLOSED] !== 0) throw closedError();
    this.#reservedAt = this.#at;
    this.#reservedHead = this.#atPos;
    this.#reservedBytes = n;
    return this.#d.subarray(this.#at + RECORD, this.#at + RECORD + n);
  }

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
    this.#checkSize(n, "Message size");
    const timeout = checkTimeout(timeoutMs);
    const record = this.#startReserve(n);
    const ok = this.#sendReady(record) ||
      this.#block(I_PRODUCER_SLEEPING, I_CONSUMER_SLEEPING, I_PRODUCER_CPU, I_CONSUMER_CPU, record, timeout);
    return this.#finishReserve(ok, n);
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
    const timeout = checkTimeout(timeoutMs);
    const record = this.#startReserve(n);
    const ok = this.#sendReady(record) ||
      await this.#blockAsync(
        I_PRODUCER_SLEEPING,
        I_CONSUMER_SLEEPING,
        I_PRODUCER_CPU,
        I_CONSUMER_CPU,
        record,
        timeout,
      );
    return this.#finishReserve(ok, n);
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
    this.#live();
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
    const h = this.#h;
    if (h[I_CLOSED] !== 0) throw closedError();
    const d32 = this.#d32;
    d32[at >> 2] = len;
    d32[(at >> 2) + 1] = 0;
    // The exchange is a full barrier: it publishes the record, and orders the read of the sleeping flag after it.
    Atomics.exchange(h, I_HEAD, (this.#reservedHead + align8(RECORD + len)) % this.#mod);
    this.#wake(I_CONSUMER_SLEEPING);
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
    const target = await this.reserveAsync(this.#checkSize(bytes.length, "Message size"), timeoutMs);
    if (target === null) return false;
    target.set(bytes);
    this.commit();
    return true;
  }

  // ----- the receiver's side -----

  /**
   * Whether a message is at tail (skipping wrap markers); sets #rxAt to its
   * data offset, #rxPos to tail and #rxLength to its checked length.
   */
  #peek(): boolean {
    const h = this.#h;
    const cap = this.#cap;
    for (let retries = 0; retries < MAX_RETRIES; retries++) {
      const tail = this.#position(I_TAIL);
      const head = this.#position(I_HEAD);
      if (head === tail) return false;
      const at = tail % cap;
      const len = Atomics.load(this.#d32, at >> 2);
      // The sender skipped a lone wrap marker (and may be writing over it, and far beyond): start again.
      if (Atomics.load(h, I_TAIL) !== tail) continue;
      const used = this.#used(head, tail);
      if (len === WRAP) {
        const before = cap - at;
        if (at === 0 || before > used) {
          throw corrupt(`a wrap marker at offset ${at} skips ${before} bytes, but only ${used} are published`);
        }
        if (Atomics.compareExchange(h, I_TAIL, tail, (tail + before) % this.#mod) === tail) {
          this.#wake(I_PRODUCER_SLEEPING);
        }
        continue;
      }
      if (len < 0 || at + RECORD + len > cap || align8(RECORD + len) > used) {
        throw corrupt(
          `a record at offset ${at} claims ${len >>> 0} bytes, more than the ${
            Math.min(used, cap - at)
          } published there`,
        );
      }
      this.#rxAt = at;
      this.#rxPos = tail;
      this.#rxLength = len;
      return true;
    }
    throw corrupt(`its tail moved ${MAX_RETRIES} times during one receive`);
  }

  #recvReady = (): boolean => (this.#found = this.#peek()) || Atomics.load(this.#h, I_CLOSED) !== 0;

  #startRecv(): void {
    this.#live();
    if (this.#taken >= 0) throw new Error("release() the message from recvInPlace() before receiving another");
    this.#publishCpu(I_CONSUMER_CPU);
  }

  /** The message at #at, or null when closed and drained. */
  #take(ok: boolean): Uint8Array | null {
    if (!ok || (!this.#found && !this.#peek())) return null;
    this.#found = false;
    const at = this.#rxAt;
    this.#taken = at;
    this.#takenTail = this.#rxPos;
    this.#takenLength = this.#rxLength;
    return this.#d.subarray(at + RECORD, at + RECORD + this.#rxLength);
  }

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
    const timeout = checkTimeout(timeoutMs);
    this.#startRecv();
    const ok = this.#recvReady() ||
      this.#block(I_CONSUMER_SLEEPING, I_PRODUCER_SLEEPING, I_CONSUMER_CPU, I_PRODUCER_CPU, 0, timeout);
    return this.#take(ok);
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
    const timeout = checkTimeout(timeoutMs);
    this.#startRecv();
    const ok = this.#recvReady() ||
      await this.#blockAsync(I_CONSUMER_SLEEPING, I_PRODUCER_SLEEPING, I_CONSUMER_CPU, I_PRODUCER_CPU, 0, timeout);
    return this.#take(ok);
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
    this.#live();
    const at = this.#taken;
    if (at < 0) throw new Error("Nothing to release: recvInPlace() a message first");
    this.#taken = -1;
    const record = align8(RECORD + this.#takenLength);
    Atomics.exchange(this.#h, I_TAIL, (this.#takenTail + record) % this.#mod);
    this.#wake(I_PRODUCER_SLEEPING);
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
    const m = await this.recvInPlaceAsync(timeoutMs);
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

  // ----- waiting -----

  /**
   * When to stop spinning, or 0 not to spin: spin only while the peer is
   * awake on another CPU. On the peer's own CPU, yield it to the peer a few
   * times instead (`#yields` > 0): the peer runs at once, and the handover
   * costs neither side a futex call.
   */
  #spinUntil(myCpu: number, peerCpu: number, peerSleeping: number, deadline: number): number {
    this.#yields = 0;
    if (this.#spin === 0) return 0;
    const h = this.#h;
    const cpu = currentCpu();
    Atomics.store(h, myCpu, cpu);
    const peer = Atomics.load(h, peerCpu);
    if (cpu < 0 || peer < 0 || Atomics.load(h, peerSleeping) !== 0) return 0;
    if (cpu === peer) {
      this.#yields = YIELDS;
      return 0;
    }
    const end = performance.now() + this.#spin / 1000;
    return deadline < end ? deadline : end;
  }

  /** Yields the CPU while the peer shares it and is awake, at most #yields times; true when ready. */
  #yieldPhase(mine: number, peer: number, record: number): boolean {
    const h = this.#h;
    for (let i = this.#yields; i > 0; i--) {
      if (Atomics.load(h, peer) !== 0 || !yieldCpu()) return false;
      if (this.#ready(record, mine)) return true;
    }
    return false;
  }

  #ready(record: number, mine: number): boolean {
    return mine === I_PRODUCER_SLEEPING ? this.#sendReady(record) : this.#recvReady();
  }

  #spinPhase(mine: number, peer: number, myCpu: number, peerCpu: number, record: number, deadline: number): boolean {
    const end = this.#spinUntil(myCpu, peerCpu, peer, deadline);
    if (end === 0) return false;
    const h = this.#h;
    for (let i = 1;; i++) {
      if (this.#ready(record, mine)) return true;
      if ((i & 1023) === 0 && (Atomics.load(h, peer) !== 0 || performance.now() >= end)) return false;
    }
  }

  /** Waits until ready or `timeout` ms have passed; true when ready. The clock is read only here: it costs up to 1 µs. */
  #block(mine: number, peer: number, myCpu: number, peerCpu: number, record: number, timeout: number): boolean {
    if (timeout === 0) return false;
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    if (this.#spinPhase(mine, peer, myCpu, peerCpu, record, deadline)) return true;
    if (this.#yieldPhase(mine, peer, record)) return true;
    const h = this.#h;
    let ready = false;
    try {
      while (!ready) {
        Atomics.exchange(h, mine, 1);
        if ((ready = this.#ready(record, mine))) break;
        const left = deadline === Infinity ? undefined : deadline - performance.now();
        if (left !== undefined && left <= 0) break;
        wait(h, mine, 1, left);
        ready = this.#ready(record, mine);
      }
    } finally {
      Atomics.store(h, mine, 0);
    }
    return ready;
  }

  async #blockAsync(
    mine: number,
    peer: number,
    myCpu: number,
    peerCpu: number,
    record: number,
    timeout: number,
  ): Promise<boolean> {
    if (timeout === 0) return false;
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    if (this.#spinPhase(mine, peer, myCpu, peerCpu, record, deadline)) return true;
    const h = this.#h;
    let ready = false;
    try {
      while (!ready) {
        Atomics.exchange(h, mine, 1);
        if ((ready = this.#ready(record, mine))) break;
        const left = deadline === Infinity ? undefined : deadline - performance.now();
        if (left !== undefined && left <= 0) break;
        await waitAsync(h, mine, 1, left);
        ready = this.#ready(record, mine);
      }
    } finally {
      if (h.length !== 0) Atomics.store(h, mine, 0);
    }
    return ready;
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
    for (const index of [I_CONSUMER_SLEEPING, I_PRODUCER_SLEEPING]) {
      Atomics.store(h, index, 0);
      notify(h, index);
    }
  }

  /** Closes; lets `using` close the channel at the end of a block. */
  [Symbol.dispose](): void {
    this.close();
  }
}
