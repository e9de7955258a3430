/**
 * What `shmem ls` and the service listing say about a request-response
 * service: how many clients it takes, its request size, and who is live.
 *
 * @module
 */
import type { MappedMemory } from "../mapped_memory.ts";
import type { ServiceHeader } from "../service/header.ts";
import { BLOCK, blockAt, LAYOUT_OFFSET, RECORD, SERVER_STATE } from "./layout.ts";
import { alive } from "./peer.ts";
import { layoutIn } from "./service.ts";

/** A request-response service at a glance. */
export interface RequestResponseSummary {
  /** Client slots (fixed at creation). */
  readonly capacity: number;
  /** Bytes of a request slot. */
  readonly payloadBytes: number;
  /** Live ends: `servers` (0 or 1) and `clients`, judged by their process identities. */
  readonly live: Record<string, number>;
}

/**
 * Summarises the request-response service in `seg` (which may be mapped
 * read-only), whose checked header is `header`. Only the record and the
 * client blocks are viewed, never the payload slots (a view of a whole
 * service past 4 GiB cannot be made in Bun). Every field is checked before
 * use; a client counts as live unless it left or the process probe says its
 * process has ended (its slot may not be freed yet).
 *
 * @throws {ShmError} `ERR_SERVICE_INVALID` when the layout is not valid.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RequestClient, RequestServer, Segment, uniqueName } from "../mod.ts";
 * import { headerOf } from "../service/header.ts";
 * import { describeRequestResponse } from "./describe.ts";
 *
 * const name = uniqueName();
 * using server = RequestServer.serve(name, { clients: 4, requestSize: 128 });
 * using client = RequestClient.connect(name);
 * using seg = Segment.open(name, { readOnly: true });
 * const header = headerOf(seg);
 * assert.ok(typeof header === "object");
 * const summary = describeRequestResponse(seg, header);
 * assert.ok(summary.capacity === 4 && summary.payloadBytes === 128);
 * assert.ok(summary.live.servers === 1 && summary.live.clients === 1);
 * ```
 */
export function describeRequestResponse(seg: MappedMemory, header: ServiceHeader): RequestResponseSummary {
  const layout = layoutIn(seg, header);
  const view = seg.region(0, layout.payloadAt).view();
  const serving = view.getInt32(LAYOUT_OFFSET + RECORD.serverState, true) === SERVER_STATE.serving;
  const server = view.getBigUint64(LAYOUT_OFFSET + RECORD.server, true);
  let clients = 0;
  for (let c = 0; c < layout.clients; c++) {
    const at = blockAt(layout, c);
    const owner = view.getBigUint64(at + BLOCK.owner, true);
    if (owner !== 0n && view.getInt32(at + BLOCK.leaving, true) === 0 && alive(owner)) clients++;
  }
  return {
    capacity: layout.clients,
    payloadBytes: layout.requestSize,
    live: { servers: serving && server !== 0n && alive(server) ? 1 : 0, clients },
  };
}
