/**
 * One mapped request-response service: the segment, its checked layout and
 * the views both ends read it through, plus the doorbell rule they share.
 *
 * @module
 */
import { Segment } from "../segment.ts";
import { notify } from "../wait.ts";
import { headerOf, SERVICE_FIELD } from "../service/header.ts";
import type { MappedMemory } from "../mapped_memory.ts";
import type { ServiceHeader } from "../service/header.ts";
import { BLOCK, blockAt, LAYOUT_OFFSET, readRecord, RECORD, SERVICE_RECORD_BYTES, word } from "./layout.ts";
import type { Layout } from "./layout.ts";
import { invalid } from "./layout.ts";
import { until } from "./peer.ts";

/**
 * A mapped service and its views. The views cover the control area only
 * (header, record, client blocks, below `layout.payloadAt`): payload slots
 * are viewed one at a time, since Bun cannot make a view of a whole service
 * past 4 GiB.
 */
export interface Mapped {
  readonly seg: Segment;
  readonly layout: Layout;
  /** The control area's bytes. */
  readonly bytes: Uint8Array;
  /** The control area, for the fields of the record and the queue entries. */
  readonly view: DataView;
  /** The control area as i32 words. */
  readonly words: Int32Array;
  /** The same as u64 words, for identities. */
  readonly wide: BigInt64Array;
}

/** Views over the control area of `seg`, laid out as `layout` (already checked against it). */
export function mapped(seg: Segment, layout: Layout): Mapped {
  const control = seg.region(0, layout.payloadAt);
  const bytes = control.bytes();
  return {
    seg,
    layout,
    bytes,
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    words: control.array(Int32Array),
    wide: control.array(BigInt64Array),
  };
}

/**
 * Opens the service `name` and checks it, waiting up to `timeoutMs` while
 * its server is still laying it out. Closes the segment on any failure.
 */
export function openService(name: string, timeoutMs: number): Mapped {
  const seg = Segment.open(name);
  try {
    return mapService(seg, timeoutMs);
  } catch (error) {
    seg.close();
    throw error;
  }
}

/** Checks the service in the open segment `seg` and maps it, waiting up to `timeoutMs` while its server lays it out. */
export function mapService(seg: Segment, timeoutMs: number): Mapped {
  const name = seg.name;
  const state = seg.region(SERVICE_FIELD.state, 4).array(Int32Array);
  const ready = () => {
    const header = headerOf(seg);
    if (header === "foreign") throw invalid(`segment '${name}' is not a shmem service`);
    return header === "initialising" ? undefined : mapped(seg, layoutIn(seg, header));
  };
  const m = until(ready, state, 0, -1, timeoutMs);
  if (m === undefined) throw invalid(`its server did not finish laying out '${name}' within ${timeoutMs} ms`);
  return m;
}

/**
 * Reads and checks the service record of `seg`, whose checked header is
 * `header`, through a view of the header and the record only.
 *
 * @throws {ShmError} `ERR_SERVICE_INVALID` when the record is not valid (or the segment too small for one).
 */
export function layoutIn(seg: MappedMemory, header: ServiceHeader): Layout {
  const end = LAYOUT_OFFSET + SERVICE_RECORD_BYTES;
  if (seg.size < end) throw invalid(`the ${seg.size}-byte segment is smaller than a service record`);
  return readRecord(seg.region(0, end).view(), header, seg.size);
}

/** The i32 index of a field of the service record. */
export const recordWord = (field: number): number => word(LAYOUT_OFFSET + field);

/** The i32 index of a field of client `client`'s block. */
export const blockWord = (layout: Layout, client: number, field: number): number =>
  word(blockAt(layout, client) + field);

/** The u64 index of client `client`'s owner word. */
export const ownerWord = (layout: Layout, client: number): number => (blockAt(layout, client) + BLOCK.owner) / 8;

/** The u64 index of the server's identity. */
export const SERVER_WORD: number = (LAYOUT_OFFSET + RECORD.server) / 8;

/**
 * Rings a doorbell: bumps the bell word (always, no system call) and wakes
 * its sleepers only when the sleeping count says someone sleeps or is about to.
 */
export function ring(words: Int32Array, bell: number, sleeping: number): void {
  Atomics.add(words, bell, 1);
  if (Atomics.load(words, sleeping) !== 0) notify(words, bell);
}
