/**
 * What `shmem ls` and `listServices()` say about a publish-subscribe
 * service: its capacity, sample size and live ports, read from memory that
 * may be mapped read-only (no lock is taken, nothing is written).
 *
 * @module
 */
import type { ServiceHeader } from "../service/header.ts";
import { C, CONTROL_BYTES, readLayout, SLOT, SLOT_BYTES } from "./layout.ts";
import { alive } from "./port.ts";

/** A service's size and its live ports, by role. */
export interface ServiceDescription {
  /** Subscriber slots (publish-subscribe) or client slots (request-response). */
  capacity: number;
  /** Bytes of one sample or message. */
  payloadBytes: number;
  /** Live ports by role: `{ publishers, subscribers }` for publish-subscribe. */
  live: Record<string, number>;
}

/**
 * Describes the publish-subscribe service in `bytes` (the whole segment)
 * whose checked header is `header`.
 *
 * @throws {ShmError} `ERR_SERVICE_INVALID` when its layout is not valid.
 */
export function describePubSub(bytes: Uint8Array, header: ServiceHeader): ServiceDescription {
  const base = bytes.byteOffset + header.layoutOffset;
  const control = new Int32Array(bytes.buffer, base, CONTROL_BYTES / 4);
  const l = readLayout(control, header);
  const words = new Int32Array(bytes.buffer, base, (CONTROL_BYTES + SLOT_BYTES * l.subscribers) / 4);
  const f64 = new Float64Array(bytes.buffer, base, words.length / 2);
  const publisher = Atomics.load(words, C.pubState) === 1 && alive(words[C.pubPid] >>> 0, f64[C.pubStart64]);
  let subscribers = 0;
  for (let i = 0; i < l.subscribers; i++) {
    const at = (CONTROL_BYTES + SLOT_BYTES * i) / 4;
    if (Atomics.load(words, at + SLOT.state) !== 1) continue;
    if (alive(words[at + SLOT.pid] >>> 0, f64[at / 2 + SLOT.start64])) subscribers++;
  }
  return { capacity: l.subscribers, payloadBytes: l.sampleSize, live: { publishers: publisher ? 1 : 0, subscribers } };
}
