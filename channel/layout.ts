/**
 * The wire layout of a Channel (version 4), as docs/channel.md specifies it:
 * the header's fields, the two roles' fields, the record encoding, and the
 * checks of a header that another process wrote.
 *
 * @module
 */
import { ShmError } from "../errors.ts";

/** `"SHMC"` read as a native (little-endian) u32. */
export const MAGIC = 0x434d4853;
export const VERSION = 4;
/** Bytes before the data area. */
export const HEADER = 192;
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 30;
/** Record header: the state word, then a u32 of zero; the payload follows. */
export const RECORD = 8;
/** State word of a slot the sender has not written yet (zeroed memory is empty). */
export const EMPTY = 0;
/** State bits (below the lap bit) that mark "skip to the start of the data area": 0x7FFFFFFF, or 0xFFFFFFFF in an odd lap. */
export const WRAP = 0x7fffffff;

/** The header's fields as Int32Array indices (byte offset / 4). */
export const I_MAGIC = 0;
export const I_VERSION = 1;
export const I_CAPACITY = 2;
export const I_HEADER = 3;
export const I_CLOSED = 4;

/**
 * One side's fields, as Int32Array indices of the header. The words each
 * side writes on every message (head, tail) sit on their own cache line; the
 * words the other side reads on every message (hints, CPUs, closed) sit on
 * the first line, which changes only when a side sleeps, moves CPU or closes.
 */
export interface Role {
  readonly name: "sender" | "receiver";
  /** Its position: head for the sender, tail for the receiver. */
  readonly position: number;
  /** The futex word it sleeps on: 1 while it sleeps. */
  readonly sleeping: number;
  /** 1 from just before it sleeps until it is back: the other side reads this one after every message. */
  readonly hint: number;
  /** The CPU it last ran on, -1 unknown. */
  readonly cpu: number;
}

/** Head at byte 64, sleeping word at 68; hint at 20, CPU at 28. */
export const SENDER: Role = { name: "sender", position: 16, sleeping: 17, hint: 5, cpu: 7 };
/** Tail at byte 128, sleeping word at 132; hint at 24, CPU at 32. */
export const RECEIVER: Role = { name: "receiver", position: 32, sleeping: 33, hint: 6, cpu: 8 };

/**
 * Bit 0 of tail: the sender waits for room (set by the sender before it
 * sleeps, cleared by the receiver's next move of tail, which then wakes it).
 * Positions are multiples of 8, so the bit is free.
 */
export const SENDER_WAITS = 1;

/** The state bit that tells a record of an odd lap (position >= C) from one of the even lap before it. */
export const LAP = 1 << 31;

/** The state word of a wrap marker at `position`. */
export const wrapOf = (position: number, capacity: number): number => WRAP | (position >= capacity ? LAP : 0);

/** The state word of a record of `n` payload bytes at `position` of a ring of `capacity` bytes. */
export const stateOf = (n: number, position: number, capacity: number): number =>
  (n + 1) | (position >= capacity ? LAP : 0);

/** Bytes a record of `n` payload bytes takes, header and padding included. */
export const recordBytes = (n: number): number => (n + RECORD + 7) & ~7;

export function invalid(message: string): ShmError {
  return new ShmError({ code: "ERR_CHANNEL_INVALID", errno: 0, message });
}

/** A header or record that no Channel can have written: the shared memory was overwritten. */
export function corrupt(what: string): ShmError {
  return new ShmError({
    code: "ERR_CHANNEL_INVALID",
    errno: 0,
    message: `The channel's shared memory is corrupt: ${what}`,
    hint:
      "Something other than the channel wrote over it; create the channel again (Channel.create) and reconnect both sides",
  });
}

/** Writes a new, empty channel's header (magic last) and marks its first slot empty. */
export function writeHeader(h: Int32Array, d32: Int32Array, capacity: number): void {
  Atomics.store(h, I_MAGIC, 0);
  h.fill(0, 1);
  h[I_VERSION] = VERSION;
  h[I_CAPACITY] = capacity;
  h[I_HEADER] = HEADER;
  h[SENDER.cpu] = -1;
  h[RECEIVER.cpu] = -1;
  Atomics.store(d32, 0, EMPTY);
  Atomics.store(h, I_MAGIC, MAGIC);
}

/** The capacity of the channel whose header `h` is, in a region of `length` bytes; throws when it is not one. */
export function readHeader(h: Int32Array, length: number): number {
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
  if (HEADER + capacity > length) {
    throw invalid(
      `The channel needs ${
        HEADER + capacity
      } bytes but the region has ${length}: open the same region it was created in`,
    );
  }
  return capacity;
}
