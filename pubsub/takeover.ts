/**
 * A new publisher takes over the name of a publish-subscribe service whose
 * publisher closed or died, by the rule every service kind follows
 * (service/takeover.ts): the `taker` word at control offset 248 decides
 * which of several processes replaces it. The stale service's subscribers
 * keep seeing its publisher gone; they do not move to the new one.
 *
 * @module
 */
import type { Segment } from "../segment.ts";
import { claimTakeover, createOrTakeOver } from "../service/takeover.ts";
import type { Verdict } from "../service/takeover.ts";
import { awaitHeader, Port } from "./port.ts";

/** Byte offset of the u64 `taker` word in the control area (reserved in the table of docs/pubsub.md). */
export const TAKER_OFFSET = 248;
/** What a publisher that wants a name makes of the service `seg` there. */
function judge(seg: Segment, timeoutMs: number): Verdict {
  const port = new Port(seg, awaitHeader(seg, timeoutMs));
  if (port.publisherGone() === undefined) return "live";
  const taker = seg.region(port.header.layoutOffset + TAKER_OFFSET, 8).array(BigInt64Array);
  return claimTakeover(taker, 0) ? "claimed" : "live";
}

/**
 * `create()`s the segment of publish-subscribe service `name`; when the name
 * holds a service whose publisher closed or died, replaces it (exactly one of
 * several processes racing for it does).
 *
 * @throws {ShmError} `EEXIST` when a live publisher has the name, another process is taking it over
 *   at the same moment, or the name holds something else; what `create` throws.
 */
export function createPublisherSegment(name: string, create: () => Segment): Segment {
  return createOrTakeOver(name, "publisher", create, judge);
}
