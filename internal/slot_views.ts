/**
 * Zero-copy views of fixed slots of a mapping (pub-sub samples,
 * request-response payload slots) that detach once the sample, request or
 * response that handed them out is done: each slot gets a {@link Lease} of
 * its own, and retiring the slot renews it (one `transfer()`), which detaches
 * every view handed out so far (byteLength 0) while the next view uses the
 * fresh buffer over the same memory. Closing the mapping detaches them all.
 * Without `detach`, retiring does nothing, each slot's last view is handed
 * out again, and only closing the mapping detaches them.
 *
 * @module
 */
import type { Segment } from "../segment.ts";
import { mappingOwner } from "../mapped_memory.ts";
import type { Lease, MappingOwner } from "./views.ts";

interface Slot {
  readonly lease: Lease;
  /** The last view handed out (handed out again while its buffer and length still fit). */
  kept: Uint8Array | undefined;
  /** Whether a view is out since the last renewal (so retiring has something to detach). */
  out: boolean;
}

/** The views of one end's slots, keyed by where each slot starts in the mapping. */
export class SlotViews {
  readonly #owner: MappingOwner;
  readonly #slots = new Map<number, Slot>();
  /** Whether retiring a slot detaches its views (else only closing the mapping does). */
  readonly #detach: boolean;

  constructor(seg: Segment, detach: boolean) {
    this.#owner = mappingOwner(seg)!;
    this.#detach = detach;
  }

  /**
   * A view of the first `length` bytes of the `size`-byte slot at byte `at`
   * (bounds already checked). A slot's size never changes. Throws the
   * use-after-close error once the mapping is closed.
   */
  view(at: number, size: number, length: number): Uint8Array {
    let slot = this.#slots.get(at);
    if (slot === undefined) {
      slot = { lease: this.#owner.leaseWindow(at, size), kept: undefined, out: false };
      this.#slots.set(at, slot);
    }
    const lease = slot.lease;
    // Detached by close (renewLease throws use-after-close) or transferred away by the user (a fresh buffer).
    if (lease.buffer.detached) this.#owner.renewLease(lease);
    slot.out = true;
    const kept = slot.kept;
    if (kept !== undefined && kept.buffer === lease.buffer && kept.length === length) return kept;
    return (slot.kept = new Uint8Array(lease.buffer, 0, length));
  }

  /** Detaches every view of the slot at `at` handed out so far (when detaching; none out: nothing to do). */
  retire(at: number): void {
    if (!this.#detach || this.#owner.closed) return;
    const slot = this.#slots.get(at);
    if (slot === undefined || !slot.out) return;
    slot.out = false;
    const length = slot.kept?.length ?? 0;
    slot.kept = undefined;
    this.#owner.renewLease(slot.lease);
    // The next view of this slot, made now: a publisher retires a loan after the subscribers can see it, so the
    // view its next loan of the slot takes is made while nobody waits for it.
    slot.kept = new Uint8Array(slot.lease.buffer, 0, length);
  }
}
