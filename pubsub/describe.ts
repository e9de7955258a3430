/**
 * What `shmem ls` and `listServices()` say about a publish-subscribe
 * service: its capacity, sample size and live ports, read from memory that
 * may be mapped read-only (no lock is taken, nothing is written).
 *
 * @module
 */
import type { MappedMemory } from "../mapped_memory.ts";
import type { ServiceHeader } from "../service/header.ts";
import type { ServiceDescription } from "../types.ts";
import { C, CONTROL_BYTES, invalid, readLayout, SLOT } from "./layout.ts";
import { alive } from "./port.ts";

/**
 * Describes the publish-subscribe service in `seg` whose checked header is
 * `header`. Only the control area and the subscriber slots are viewed, never
 * the samples (a view of a whole service past 4 GiB cannot be made in Bun).
 *
 * @throws {ShmError} `ERR_SERVICE_INVALID` when its layout is not valid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Publisher, Segment, uniqueName } from "../mod.ts";
 * import { headerOf } from "../service/header.ts";
 * import { describePubSub } from "./describe.ts";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 100, subscribers: 3 });
 * using seg = Segment.open(name, { readOnly: true });
 * const header = headerOf(seg);
 * assert.ok(typeof header === "object");
 * const about = describePubSub(seg, header);
 * assert.ok(about.capacity === 3 && about.payloadBytes === 100 && about.live.publishers === 1);
 * ```
 */
export function describePubSub(seg: MappedMemory, header: ServiceHeader): ServiceDescription {
  const base = header.layoutOffset;
  if (header.totalBytes - base < CONTROL_BYTES) throw invalid("the layout is smaller than its control area");
  const l = readLayout(seg.region(base, CONTROL_BYTES).array(Int32Array), header);
  const slots = seg.region(base, l.queuesOffset);
  const words = slots.array(Int32Array);
  const f64 = slots.array(Float64Array);
  const publisher = Atomics.load(words, C.pubState) === 1 && alive(words[C.pubPid] >>> 0, f64[C.pubStart64]);
  let subscribers = 0;
  for (let i = 0; i < l.subscribers; i++) {
    const at = (CONTROL_BYTES + l.slotBytes * i) / 4;
    if (Atomics.load(words, at + SLOT.state) !== 1) continue;
    if (alive(words[at + SLOT.pid] >>> 0, f64[at / 2 + SLOT.start64])) subscribers++;
  }
  return { capacity: l.subscribers, payloadBytes: l.sampleSize, live: { publishers: publisher ? 1 : 0, subscribers } };
}
