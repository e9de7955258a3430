/**
 * Discovery: every shmem service this user can see, with its kind, layout
 * version, capacity, payload size and live ports.
 *
 * @module
 */
import { Segment } from "../segment.ts";
import { headerOf } from "./header.ts";
import type { ServiceHeader, ServiceKind } from "./header.ts";
import type { ServiceDescription, ServiceInfo } from "../types.ts";
import { describePubSub } from "../pubsub/describe.ts";
import { describeRequestResponse } from "../request_response/describe.ts";

/**
 * How each kind describes itself from its segment and its checked header.
 * Both kinds are read through views of their control areas only, never
 * their payloads (so a service past 4 GiB is listed in Bun too).
 */
const DESCRIBE: Record<ServiceKind, (seg: Segment, header: ServiceHeader) => ServiceDescription> = {
  "publish-subscribe": describePubSub,
  "request-response": describeRequestResponse,
};

/**
 * What the service in segment `name` is, or `undefined` when the segment
 * is not a ready, valid service of a kind this shmem can read (or this user
 * cannot open it). The segment is mapped read-only and closed again.
 */
export function describeService(name: string): ServiceInfo | undefined {
  let seg: Segment;
  try {
    seg = Segment.open(name, { readOnly: true });
  } catch {
    return undefined;
  }
  try {
    const header = headerOf(seg);
    if (typeof header === "string") return undefined;
    const describe = DESCRIBE[header.kind];
    return { name: seg.name, kind: header.kind, version: header.version, size: seg.size, ...describe(seg, header) };
  } catch {
    return undefined;
  } finally {
    seg.close();
  }
}

/**
 * Lists the shmem services among the named segments this user can see
 * (Linux: /dev/shm; where the system cannot list segments, none).
 *
 * @example List services
 * ```ts
 * import assert from "node:assert/strict";
 * import { listServices, Publisher, Subscriber, uniqueName } from "../mod.ts";
 *
 * const name = uniqueName();
 * using pub = Publisher.create(name, { sampleSize: 1024, subscribers: 8 });
 * using sub = Subscriber.open(name);
 * const mine = listServices().find((s) => s.name === name);
 * if (mine) { // listed where the system can list segments
 *   assert.equal(mine.kind, "publish-subscribe");
 *   assert.equal(mine.capacity, 8);
 *   assert.equal(mine.payloadBytes, 1024);
 *   assert.deepEqual(mine.live, { publishers: 1, subscribers: 1 });
 * }
 * ```
 */
export function listServices(): ServiceInfo[] {
  const out: ServiceInfo[] = [];
  for (const s of Segment.list()) {
    const info = describeService(s.name);
    if (info) out.push(info);
  }
  return out;
}
