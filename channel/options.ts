/**
 * The options of Channel.create and Channel.open, and the checks of their
 * arguments (before anything is written).
 *
 * @module
 */
import { describe, readOptions } from "../internal/options.ts";
import type { OptionKeys } from "../internal/options.ts";
import { MappedMemory } from "../mapped_memory.ts";
import { Region } from "../region.ts";
import { HEADER, invalid, MAX_CAPACITY, MIN_CAPACITY } from "./layout.ts";

const DEFAULT_SPIN_MICROS = 50;

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

function checkPlace(r: Region): void {
  if (r.offset % 8 !== 0) throw new RangeError(`A channel's region must start at a multiple of 8, got ${r.offset}`);
}

/** The checked arguments of Channel.create. */
export function createArguments(
  region: unknown,
  options: ChannelCreateOptions | undefined,
): { r: Region; capacity: number; spin: number } {
  const r = toRegion(region, "Channel.create");
  const o = readOptions(options, "Channel.create", CREATE_KEYS);
  const spin = checkSpin(o.spinMicros);
  if (r.readOnly) throw new TypeError("Channel.create needs a writable region, got a read-only one");
  checkPlace(r);
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
  return { r, capacity, spin };
}

/** The checked arguments of Channel.open. */
export function openArguments(region: unknown, options: ChannelOpenOptions | undefined): { r: Region; spin: number } {
  const r = toRegion(region, "Channel.open");
  const o = readOptions(options, "Channel.open", OPEN_KEYS);
  const spin = checkSpin(o.spinMicros);
  checkPlace(r);
  if (r.length < HEADER + MIN_CAPACITY) {
    throw invalid(`This region (${r.length} bytes) is too small to hold a channel`);
  }
  return { r, spin };
}
