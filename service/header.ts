/**
 * The header every shmem service starts with: the first 64 bytes of the
 * segment of a publish-subscribe or request-response service. It says what
 * kind of service the segment holds and where that kind's own layout begins,
 * so that `shmem ls` and {@link readServiceHeader} can tell services from
 * other segments, and so that a reader checks the memory before trusting it.
 * The spec, which C programs follow, is docs/services.md.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import type { MappedMemory } from "../mapped_memory.ts";

/** Bytes of the service header; a kind's own layout starts at or after it. */
export const SERVICE_HEADER_BYTES = 64;

/** The magic word at offset 0: the bytes "SHMS" read as a little-endian u32. */
export const SERVICE_MAGIC = 0x534d4853;

/** The kinds of service, as stored at offset 4. */
export const SERVICE_KIND = {
  "publish-subscribe": 1,
  "request-response": 2,
} as const;

/** The name of a kind of service. */
export type ServiceKind = keyof typeof SERVICE_KIND;

/** The lifecycle state at offset 12. */
export const SERVICE_STATE = {
  /** The creator is still writing the layout: do not use it yet. */
  initialising: 0,
  /** The layout is complete (stored last, with a release store). */
  ready: 1,
} as const;

/** Byte offsets of the header's fields (all little-endian). */
export const SERVICE_FIELD = {
  /** u32 {@link SERVICE_MAGIC}. */
  magic: 0,
  /** u16 {@link SERVICE_KIND}. */
  kind: 4,
  /** u16 version of the kind's layout. */
  version: 6,
  /** u32 offset of the kind's own layout: a multiple of 64, >= 64. */
  layoutOffset: 8,
  /** u32 {@link SERVICE_STATE} (an Int32Array word: waited on while initialising). */
  state: 12,
  /** f64 total bytes the creator laid out (<= the segment's size). */
  totalBytes: 16,
  /** u32 process id of the creator (informative). */
  creatorPid: 24,
} as const;

/** What a valid header says. */
export interface ServiceHeader {
  readonly kind: ServiceKind;
  readonly version: number;
  readonly layoutOffset: number;
  readonly totalBytes: number;
  readonly creatorPid: number;
}

function invalid(message: string): ShmError {
  return new ShmError({ code: "ERR_SERVICE_INVALID", errno: 0, message });
}

/**
 * Reads and checks the service header at the start of `bytes`, a view of
 * at least the header's 64 bytes of a segment of `size` bytes (by default
 * `bytes` is the whole segment). Memory shared with another process is
 * untrusted: every field is checked against the segment's size before it is
 * returned.
 *
 * @returns the header, or `undefined` when the segment is not (yet) a ready service:
 *   `"foreign"` when the magic is not there, `"initialising"` while its creator writes it.
 * @throws {ShmError} `ERR_SERVICE_INVALID` when the magic is there and a field is out of range.
 */
export function readServiceHeader(
  bytes: Uint8Array,
  size: number = bytes.byteLength,
): ServiceHeader | "foreign" | "initialising" {
  if (bytes.byteLength < SERVICE_HEADER_BYTES || size < SERVICE_HEADER_BYTES) return "foreign";
  const view = new DataView(bytes.buffer, bytes.byteOffset, SERVICE_HEADER_BYTES);
  if (view.getUint32(SERVICE_FIELD.magic, true) !== SERVICE_MAGIC) return "foreign";
  const state = Atomics.load(new Int32Array(bytes.buffer, bytes.byteOffset + SERVICE_FIELD.state, 1), 0);
  if (state === SERVICE_STATE.initialising) return "initialising";
  if (state !== SERVICE_STATE.ready) throw invalid(`The service header has an unknown state ${state}`);
  const code = view.getUint16(SERVICE_FIELD.kind, true);
  const kind = (Object.keys(SERVICE_KIND) as ServiceKind[]).find((k) => SERVICE_KIND[k] === code);
  if (kind === undefined) throw invalid(`The service header has an unknown kind ${code}`);
  const layoutOffset = view.getUint32(SERVICE_FIELD.layoutOffset, true);
  const totalBytes = view.getFloat64(SERVICE_FIELD.totalBytes, true);
  if (layoutOffset < SERVICE_HEADER_BYTES || layoutOffset % 64 !== 0 || layoutOffset > size) {
    throw invalid(`The service header's layout offset ${layoutOffset} is outside the ${size}-byte segment`);
  }
  if (!Number.isSafeInteger(totalBytes) || totalBytes < layoutOffset || totalBytes > size) {
    throw invalid(`The service header's size ${totalBytes} does not fit the ${size}-byte segment`);
  }
  return {
    kind,
    version: view.getUint16(SERVICE_FIELD.version, true),
    layoutOffset,
    totalBytes,
    creatorPid: view.getUint32(SERVICE_FIELD.creatorPid, true),
  };
}

/**
 * The first 64 bytes of `seg`, the only ones the header needs (a view of
 * the whole segment cannot be made in Bun past 4 GiB); empty when the
 * segment is smaller than a header.
 */
export function headerBytes(seg: MappedMemory): Uint8Array {
  return seg.size < SERVICE_HEADER_BYTES ? new Uint8Array(0) : seg.region(0, SERVICE_HEADER_BYTES).bytes();
}

/**
 * Reads and checks the service header of a mapped segment from a view of
 * its first 64 bytes only ({@link readServiceHeader} against its size).
 *
 * @throws {ShmError} `ERR_SERVICE_INVALID` as {@link readServiceHeader} does.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Publisher, Segment, uniqueName } from "../mod.ts";
 * import { headerOf } from "./header.ts";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 64 });
 * using seg = Segment.open(name, { readOnly: true });
 * const header = headerOf(seg);
 * assert.ok(typeof header === "object" && header.kind === "publish-subscribe");
 * ```
 */
export function headerOf(seg: MappedMemory): ServiceHeader | "foreign" | "initialising" {
  return readServiceHeader(headerBytes(seg), seg.size);
}

/**
 * Writes a header in the initialising state; the creator then lays out its
 * kind's area and calls {@link markServiceReady}.
 */
export function writeServiceHeader(bytes: Uint8Array, header: ServiceHeader): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, SERVICE_HEADER_BYTES);
  Atomics.store(new Int32Array(bytes.buffer, bytes.byteOffset + SERVICE_FIELD.state, 1), 0, SERVICE_STATE.initialising);
  view.setUint16(SERVICE_FIELD.kind, SERVICE_KIND[header.kind], true);
  view.setUint16(SERVICE_FIELD.version, header.version, true);
  view.setUint32(SERVICE_FIELD.layoutOffset, header.layoutOffset, true);
  view.setFloat64(SERVICE_FIELD.totalBytes, header.totalBytes, true);
  view.setUint32(SERVICE_FIELD.creatorPid, header.creatorPid, true);
  view.setUint32(SERVICE_FIELD.magic, SERVICE_MAGIC, true);
}

/** Publishes a fully laid-out service: the state word becomes ready last (a release store). */
export function markServiceReady(bytes: Uint8Array): void {
  Atomics.store(new Int32Array(bytes.buffer, bytes.byteOffset + SERVICE_FIELD.state, 1), 0, SERVICE_STATE.ready);
}
