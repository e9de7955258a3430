/**
 * The request-response layout (docs/request_response.md) as arithmetic: where
 * each field, queue entry and payload slot lives, and the checks every value
 * read from shared memory passes before it is used. Pure functions over a
 * DataView and an Int32Array, so that they are tested over a
 * SharedArrayBuffer as well as used over a Segment.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { SERVICE_HEADER_BYTES } from "../service/header.ts";
import type { ServiceHeader } from "../service/header.ts";

/** The version of the request-response layout, stored in the service header. */
export const LAYOUT_VERSION = 1;
/** Where the layout starts: right after the common header. */
export const LAYOUT_OFFSET = SERVICE_HEADER_BYTES;
/** Bytes of the layout's own header (the service record). */
export const SERVICE_RECORD_BYTES = 64;
/** Bytes of a client block before its queues. */
export const BLOCK_HEAD_BYTES = 64;
/** Bytes of one queue entry: u32 id, slot, length, flags. */
export const ENTRY_BYTES = 16;

/** Most clients a service can have. */
export const MAX_CLIENTS = 256;
/** Most requests one client may have in flight. */
export const MAX_IN_FLIGHT = 64;
/** Largest request or response payload in bytes. */
export const MAX_PAYLOAD = 2 ** 30;

/** Byte offsets in the service record, from {@link LAYOUT_OFFSET}. */
export const RECORD = {
  clients: 0,
  inFlight: 4,
  requestSize: 8,
  responseSize: 12,
  /** i32: bumped by clients on every request, release and departure. */
  serverBell: 16,
  /** i32: 1 while the server sleeps (or is about to) on the bell. */
  serverSleeping: 20,
  /** u64: the server's identity, `pid | start << 22`. */
  server: 24,
  /** i32 {@link SERVER_STATE}. */
  serverState: 32,
  /** u32: bytes of one client block (a cross-check). */
  blockBytes: 36,
  /** i32: the CPU the server last ran on, -1 unknown (a hint for spinning). */
  serverCpu: 40,
  /** u64: the identity of a process replacing a server that closed or died (0: none); see service/takeover.ts. */
  taker: 56,
} as const;

/** The server's state word. */
export const SERVER_STATE = { serving: 1, closed: 2 } as const;

/** Byte offsets in a client block, from the block's start. */
export const BLOCK = {
  /** u64: the client's identity, `pid | start << 22`; 0 when the slot is free. */
  owner: 0,
  /** u32: bumped by the server each time it frees the slot. */
  generation: 8,
  /** i32: bumped by the server on every response and when it closes. */
  bell: 12,
  /** i32: 1 while the client sleeps (or is about to) on its bell. */
  sleeping: 16,
  /** u32: requests sent (written by the client). */
  reqHead: 20,
  /** u32: requests taken (written by the server). */
  reqTail: 24,
  /** u32: responses sent (written by the server). */
  resHead: 28,
  /** u32: responses released (written by the client). */
  resTail: 32,
  /** i32: 1 once the client has left; the server then frees the slot. */
  leaving: 36,
  /** i32: the CPU the client last ran on, -1 unknown (a hint for spinning). */
  cpu: 40,
  /**
   * u64: the identity of the process that holds the block's lock (0: free): the
   * server while it reads or writes the queues, or a client taking over the
   * slot of one that left or died.
   */
  lock: 48,
} as const;

/** Bits of a queue entry's flags. */
export const FLAG = {
  /** The last response to its request (a single response carries it too). */
  last: 1,
  /** The server dropped the request without a response (always with `last`, length 0). */
  dropped: 2,
} as const;

/** The sizes a service is created with. */
export interface Shape {
  readonly clients: number;
  readonly inFlight: number;
  readonly requestSize: number;
  readonly responseSize: number;
}

/** A shape and every offset derived from it. */
export interface Layout extends Shape {
  /** Bytes between two request slots (requestSize rounded up to 64). */
  readonly requestStride: number;
  /** Bytes between two response slots. */
  readonly responseStride: number;
  /** Bytes of one client block: head, then the request and the response queue. */
  readonly blockBytes: number;
  /** Where client block 0 starts. */
  readonly blocksAt: number;
  /** Where client 0's payload slots start. */
  readonly payloadAt: number;
  /** Bytes of the whole service. */
  readonly totalBytes: number;
}

/** One queue entry. */
export interface Entry {
  readonly id: number;
  readonly slot: number;
  readonly length: number;
  readonly flags: number;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** The error of memory no request-response service can have written. */
export function invalid(message: string): ShmError {
  return new ShmError({
    code: "ERR_SERVICE_INVALID",
    errno: 0,
    message: `The request-response service's shared memory is corrupt: ${message}`,
    hint: "Something other than shmem wrote over it; serve the service again and reconnect the clients",
  });
}

/** Every offset of a service of `shape` (already checked to be in range). */
export function layoutOf(shape: Shape): Layout {
  const { clients, inFlight, requestSize, responseSize } = shape;
  const requestStride = align64(requestSize);
  const responseStride = align64(responseSize);
  const blockBytes = align64(BLOCK_HEAD_BYTES + 2 * ENTRY_BYTES * inFlight);
  const blocksAt = LAYOUT_OFFSET + SERVICE_RECORD_BYTES;
  const payloadAt = blocksAt + clients * blockBytes;
  const totalBytes = payloadAt + clients * inFlight * (requestStride + responseStride);
  return {
    clients,
    inFlight,
    requestSize,
    responseSize,
    requestStride,
    responseStride,
    blockBytes,
    blocksAt,
    payloadAt,
    totalBytes,
  };
}

/** Where client `client`'s block starts. */
export function blockAt(layout: Layout, client: number): number {
  return layout.blocksAt + client * layout.blockBytes;
}

/** Where entry `position` (a counter, taken modulo inFlight) of a client's request queue starts. */
export function requestEntryAt(layout: Layout, client: number, position: number): number {
  return blockAt(layout, client) + BLOCK_HEAD_BYTES + (position % layout.inFlight) * ENTRY_BYTES;
}

/** Where entry `position` of a client's response queue starts. */
export function responseEntryAt(layout: Layout, client: number, position: number): number {
  return blockAt(layout, client) + BLOCK_HEAD_BYTES + (layout.inFlight + position % layout.inFlight) * ENTRY_BYTES;
}

/** Where a client's request payload slot starts. */
export function requestSlotAt(layout: Layout, client: number, slot: number): number {
  return layout.payloadAt + client * layout.inFlight * (layout.requestStride + layout.responseStride) +
    slot * layout.requestStride;
}

/** Where a client's response payload slot starts. */
export function responseSlotAt(layout: Layout, client: number, slot: number): number {
  return requestSlotAt(layout, client, layout.inFlight) + slot * layout.responseStride;
}

/** Writes the service record of `layout` (the server, while the header says initialising). */
export function writeRecord(view: DataView, layout: Layout): void {
  const at = LAYOUT_OFFSET;
  view.setUint32(at + RECORD.clients, layout.clients, true);
  view.setUint32(at + RECORD.inFlight, layout.inFlight, true);
  view.setUint32(at + RECORD.requestSize, layout.requestSize, true);
  view.setUint32(at + RECORD.responseSize, layout.responseSize, true);
  view.setUint32(at + RECORD.blockBytes, layout.blockBytes, true);
}

/**
 * Reads the service record from `view` (at least the header and the record)
 * and checks it against the header and the size of the segment, `size`
 * bytes (by default the view's length); every later offset derived from the
 * result is inside it.
 */
export function readRecord(view: DataView, header: ServiceHeader, size: number = view.byteLength): Layout {
  if (header.kind !== "request-response") throw invalid(`the service is ${header.kind}, not request-response`);
  if (header.version !== LAYOUT_VERSION) {
    throw invalid(`layout version ${header.version}; this shmem reads version ${LAYOUT_VERSION}`);
  }
  if (header.layoutOffset !== LAYOUT_OFFSET) throw invalid(`layout offset ${header.layoutOffset}, not 64`);
  if (header.totalBytes < LAYOUT_OFFSET + SERVICE_RECORD_BYTES) throw invalid(`size ${header.totalBytes}`);
  if (view.byteLength < LAYOUT_OFFSET + SERVICE_RECORD_BYTES) {
    throw invalid(`a ${view.byteLength}-byte view has no record`);
  }
  const at = LAYOUT_OFFSET;
  const clients = view.getUint32(at + RECORD.clients, true);
  const inFlight = view.getUint32(at + RECORD.inFlight, true);
  const requestSize = view.getUint32(at + RECORD.requestSize, true);
  const responseSize = view.getUint32(at + RECORD.responseSize, true);
  if (clients < 1 || clients > MAX_CLIENTS) throw invalid(`${clients} clients`);
  if (inFlight < 1 || inFlight > MAX_IN_FLIGHT) throw invalid(`${inFlight} requests in flight`);
  if (requestSize < 1 || requestSize > MAX_PAYLOAD) throw invalid(`request size ${requestSize}`);
  if (responseSize < 1 || responseSize > MAX_PAYLOAD) throw invalid(`response size ${responseSize}`);
  const layout = layoutOf({ clients, inFlight, requestSize, responseSize });
  if (view.getUint32(at + RECORD.blockBytes, true) !== layout.blockBytes) throw invalid("client block size");
  if (layout.totalBytes !== header.totalBytes || layout.totalBytes > size) {
    throw invalid(`the layout needs ${layout.totalBytes} bytes, the header says ${header.totalBytes}`);
  }
  return layout;
}

/**
 * How many entries a queue holds: `head - tail` modulo 2^32, checked to be
 * at most `capacity` (a counter from shared memory that is further ahead is corrupt).
 */
export function queued(head: number, tail: number, capacity: number, what: string): number {
  const n = (head - tail) >>> 0;
  if (n > capacity) throw invalid(`${what} holds ${n} entries (head ${head >>> 0}, tail ${tail >>> 0}) of ${capacity}`);
  return n;
}

/** Writes a queue entry (its counter is published after it). */
export function writeEntry(view: DataView, at: number, entry: Entry): void {
  view.setUint32(at, entry.id, true);
  view.setUint32(at + 4, entry.slot, true);
  view.setUint32(at + 8, entry.length, true);
  view.setUint32(at + 12, entry.flags, true);
}

/**
 * Reads a queue entry and checks it: the slot below inFlight, the length at
 * most `maxLength`, only known flags, and a drop only as a last, empty entry.
 */
export function readEntry(view: DataView, at: number, inFlight: number, maxLength: number, what: string): Entry {
  const id = view.getUint32(at, true);
  const slot = view.getUint32(at + 4, true);
  const length = view.getUint32(at + 8, true);
  const flags = view.getUint32(at + 12, true);
  if (slot >= inFlight) throw invalid(`${what} names slot ${slot} of ${inFlight}`);
  if (length > maxLength) throw invalid(`${what} is ${length} bytes long, more than the ${maxLength} of a slot`);
  if ((flags & ~(FLAG.last | FLAG.dropped)) !== 0) throw invalid(`${what} has unknown flags 0x${flags.toString(16)}`);
  if ((flags & FLAG.dropped) !== 0 && (flags !== (FLAG.last | FLAG.dropped) || length !== 0)) {
    throw invalid(`${what} is a drop that is not last and empty`);
  }
  return { id, slot, length, flags };
}

/** An i32 index into the segment's Int32Array for the byte offset `at` (a multiple of 4). */
export const word = (at: number): number => at / 4;
