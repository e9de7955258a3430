/**
 * Zero-copy views of payload slots that detach once the request or response
 * that handed them out is done: each slot gets a buffer of its own over its
 * shared memory, and retiring the slot detaches every view of that buffer
 * (byteLength 0) while a fresh buffer over the same memory waits for its next
 * use. Closing the mapping detaches them all too.
 *
 * @module
 */
import type { Segment } from "../segment.ts";
import { mappingOwner } from "../mapped_memory.ts";
import type { MappingOwner } from "../internal/views.ts";

/** The views of one end's payload slots, keyed by where each slot starts. */
export class SlotViews {
  readonly #owner: MappingOwner;
  /** Per slot (by byte offset): the buffer that views of it use now. */
  readonly #buffers = new Map<number, ArrayBuffer>();
  /** Slots whose buffer has views out (so retiring them has something to detach). */
  readonly #used = new Set<number>();
  /** Whether retiring a slot detaches its views (else only closing the mapping does). */
  readonly #detach: boolean;

  constructor(seg: Segment, detach: boolean) {
    this.#owner = mappingOwner(seg)!;
    this.#detach = detach;
  }

  /** A view of the first `length` bytes of the `size`-byte slot at `at`. */
  view(at: number, size: number, length: number): Uint8Array {
    let buffer = this.#buffers.get(at);
    if (buffer === undefined) {
      buffer = this.#owner.lease(at, size);
      this.#buffers.set(at, buffer);
    }
    if (this.#detach) this.#used.add(at);
    return new Uint8Array(buffer, 0, length);
  }

  /** Detaches every view of the slot at `at` handed out so far (none: nothing to do). */
  retire(at: number): void {
    if (!this.#used.delete(at) || this.#owner.closed) return;
    const buffer = this.#buffers.get(at)!;
    const next = this.#owner.renew(buffer);
    if (next === undefined) this.#buffers.delete(at);
    else this.#buffers.set(at, next);
  }
}
