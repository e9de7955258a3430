/**
 * The views over one mapping, and the guarantee that makes them safe: every
 * ArrayBuffer ever made over the mapping is detached (`transfer(0)`) before
 * the memory is unmapped, so an old view reads as empty instead of crashing.
 *
 * A runtime that cannot make one ArrayBuffer over the whole mapping (Bun stops
 * at 4 GiB) gets windows: buffers of at most `maxViewBytes` starting every
 * `maxViewBytes / 2` bytes, so any window up to half that size lies inside one
 * of them, plus exact buffers for larger windows.
 *
 * @module
 */
import type { RawMapping } from "../platform/contracts.ts";
import { ShmError } from "../errors.ts";
import { ffi } from "../ffi/mod.ts";
import { atThreadExit } from "../ffi/exit.ts";
import { platform } from "../platform/mod.ts";
import type { ThreadRecord } from "../platform/contracts.ts";

/** Where a window of the mapping lives: a buffer and the offset in it. */
export interface Located {
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
}

/** Where a buffer this library made over shared memory starts, and whether writes reach the other processes. */
type Origin = { readonly address: bigint; readonly shared: boolean };
/** The origins of buffers made over shared memory. */
const origins = new WeakMap<ArrayBufferLike, Origin>();
/**
 * The origin of a {@link Lease}'s buffer, as a property of the buffer itself
 * (this module's own symbol): renewing a lease costs no WeakMap entry.
 */
const ORIGIN = Symbol("shmem.origin");

/**
 * A buffer of its own over one window of a mapping, which
 * {@link MappingOwner.renewLease} detaches and replaces by a fresh one over
 * the same memory: tracked once for its whole life, so a renewal costs one
 * `transfer()` and no bookkeeping of the new buffer.
 */
export interface Lease {
  /** The current buffer; the ones before it are detached. */
  readonly buffer: ArrayBuffer;
}

interface LeaseCell {
  buffer: ArrayBuffer;
  readonly origin: Origin;
  readonly length: number;
}

/**
 * The base address of `buffer` when this library made it over a mapping, and
 * whether the mapping is shared (writable, not copy-on-write); `undefined` for
 * any other buffer. A detached buffer keeps its entry but has length 0.
 */
export function bufferOrigin(
  buffer: ArrayBufferLike,
): { readonly address: bigint; readonly shared: boolean } | undefined {
  return origins.get(buffer) ?? (buffer as { [ORIGIN]?: Origin })[ORIGIN];
}

/**
 * What close() and the GC backstop share: the mapping and every buffer ever
 * made over it. The registry holds this record (not the MappingOwner), so when the
 * owner becomes garbage the backstop still sees every buffer and can do
 * exactly what close() does.
 */
interface Cell {
  raw: RawMapping | undefined;
  /** Every buffer made over the mapping that was not yet seen detached. */
  readonly buffers: Set<ArrayBuffer>;
  /** Every lease made over the mapping: each one's current buffer. */
  readonly leases: Set<LeaseCell>;
  /** Set when a buffer was detached by someone else: its memory may live on elsewhere. */
  escaped: boolean;
  /** Set when the address was handed to native code (`unsafeAddress()`), which the GC cannot see. */
  addressOut: boolean;
  /** Cancels the release at this worker thread's end (see {@link atThreadExit}). */
  untrack: () => void;
  /** This worker thread's record of the mapping, for the threads that outlive it (see posix/threads.ts). */
  record: ThreadRecord;
}

/**
 * The one place that decides whether releasing `cell` may unmap the memory,
 * for close() and the GC backstop alike. Never when a buffer was detached by
 * someone other than this library (transferred, structuredClone'd or posted
 * away): the moved buffer may still point into the mapping. And the backstop
 * never unmaps memory whose address native code was given: only an explicit
 * close() says that native code is done with it.
 */
function mayUnmap(cell: Cell, byBackstop: boolean): boolean {
  return !cell.escaped && !(byBackstop && cell.addressOut);
}

/** Detaches every buffer, then unmaps, or only closes the handle when the memory may still be reachable. */
function releaseCell(cell: Cell, byBackstop: boolean): void {
  const raw = cell.raw;
  if (raw === undefined) return;
  cell.raw = undefined;
  cell.untrack();
  const buffers = [...cell.buffers];
  cell.buffers.clear();
  for (const lease of cell.leases) buffers.push(lease.buffer);
  cell.leases.clear();
  for (const buffer of buffers) {
    if (buffer.detached) cell.escaped = true;
    else buffer.transfer(0);
  }
  // A terminated worker may stop anywhere in here: the record says what a sweeper may still release.
  const threads = platform().threads;
  const unmap = mayUnmap(cell, byBackstop);
  raw.release(threads.closing(cell.record, unmap) || !unmap);
  threads.forget(cell.record);
  threads.sweep();
}

/** The backstop: a MappingOwner that became garbage without close() is closed as close() would have. */
const registry = new FinalizationRegistry<Cell>((cell) => {
  try {
    releaseCell(cell, true);
  } catch {
    // A finalizer has nobody to report to; the handle stays open rather than crash.
  }
});

/** The buffers over one live mapping. Internal: users see Regions and typed arrays. */
export class MappingOwner {
  readonly size: number;
  readonly readOnly: boolean;
  readonly #what: string;
  readonly #maxView: number;
  #raw: RawMapping | undefined;
  #whole: ArrayBuffer | undefined;
  readonly #windows = new Map<string, ArrayBuffer>();
  readonly #cell: Cell;

  /**
   * @param raw The mapping; released by close() or, as a backstop, by the GC.
   * @param what How messages name it ("Segment 'frames'").
   */
  constructor(raw: RawMapping, readOnly: boolean, what: string, maxView = ffi.maxViewBytes) {
    this.size = raw.size;
    this.readOnly = readOnly;
    this.#what = what;
    this.#maxView = maxView;
    this.#raw = raw;
    const cell: Cell = {
      raw,
      buffers: new Set(),
      leases: new Set(),
      escaped: false,
      addressOut: false,
      untrack: () => {},
      record: -1,
    };
    this.#cell = cell;
    registry.register(this, cell, cell);
    // A terminated worker never runs its finalizers: release at the thread's end as the backstop would.
    cell.untrack = atThreadExit(() => releaseCell(cell, true));
    // Nor does worker.terminate() always run that: record the mapping for the threads that live on.
    cell.record = platform().threads.remember(raw.fd ?? -1, raw.address, raw.size, true);
  }

  /** Whether close() ran. */
  get closed(): boolean {
    return this.#raw === undefined;
  }

  /** Throws the use-after-close error when closed. */
  /** The descriptor or handle the open mapping keeps (-1 when none). */
  get handle(): number | bigint {
    this.assertOpen();
    return this.#raw!.handle;
  }

  assertOpen(): void {
    if (this.#raw === undefined) {
      throw new ShmError({
        code: "ERR_USE_AFTER_CLOSE",
        errno: 0,
        message: `${this.#what} is closed`,
      });
    }
  }

  #make(offset: number, length: number): ArrayBuffer {
    const address = this.#raw!.address + BigInt(offset);
    const buffer = ffi.view(address, length);
    origins.set(buffer, { address, shared: !this.readOnly });
    this.#cell.buffers.add(buffer);
    return buffer;
  }

  #fresh(buffer: ArrayBuffer | undefined): ArrayBuffer | undefined {
    if (buffer !== undefined && buffer.detached) {
      this.#cell.buffers.delete(buffer);
      this.#cell.escaped = true;
      platform().threads.keepMapped(this.#cell.record);
      return undefined;
    }
    return buffer;
  }

  /** The buffer and offset holding bytes `[offset, offset + length)`; bounds already checked. */
  locate(offset: number, length: number): Located {
    this.assertOpen();
    if (this.size <= this.#maxView) {
      this.#whole = this.#fresh(this.#whole) ?? this.#make(0, this.size);
      return { buffer: this.#whole, byteOffset: offset };
    }
    const half = Math.floor(this.#maxView / 2);
    if (length <= half) {
      const start = Math.floor(offset / half) * half;
      const key = `w${start}`;
      let buffer = this.#fresh(this.#windows.get(key));
      if (!buffer) {
        buffer = this.#make(start, Math.min(this.#maxView, this.size - start));
        this.#windows.set(key, buffer);
      }
      return { buffer, byteOffset: offset - start };
    }
    if (length <= this.#maxView) {
      const key = `${offset}:${length}`;
      let buffer = this.#fresh(this.#windows.get(key));
      if (!buffer) {
        buffer = this.#make(offset, length);
        this.#windows.set(key, buffer);
      }
      return { buffer, byteOffset: 0 };
    }
    throw new RangeError(
      `This runtime cannot make one view of ${length} bytes (at most ${this.#maxView}): use region(offset, length) for windows of at most ${this.#maxView} bytes`,
    );
  }

  /**
   * A {@link Lease} over bytes `[offset, offset + length)` (bounds already
   * checked, length > 0): its buffer is detached at close like every other.
   */
  leaseWindow(offset: number, length: number): Lease {
    this.assertOpen();
    const address = this.#raw!.address + BigInt(offset);
    const lease: LeaseCell = { buffer: ffi.view(address, length), origin: { address, shared: !this.readOnly }, length };
    (lease.buffer as { [ORIGIN]?: Origin })[ORIGIN] = lease.origin;
    this.#cell.leases.add(lease);
    return lease;
  }

  /**
   * Detaches `lease`'s buffer and gives it a fresh one over the same memory
   * (`transfer()` moves an external buffer's memory without copying). A
   * buffer someone else detached (transferred away) marks the mapping
   * escaped, as {@link locate} does, and the lease gets a new buffer.
   */
  renewLease(lease: Lease): void {
    this.assertOpen();
    const cell = lease as LeaseCell;
    if (cell.buffer.detached) {
      this.#cell.escaped = true;
      platform().threads.keepMapped(this.#cell.record);
      cell.buffer = ffi.view(cell.origin.address, cell.length);
    } else {
      cell.buffer = cell.buffer.transfer();
    }
    (cell.buffer as { [ORIGIN]?: Origin })[ORIGIN] = cell.origin;
  }

  /**
   * The address of byte `offset` (bounds already checked), for native code.
   * From now on the GC backstop never unmaps this mapping: only close() does.
   */
  unsafeAddress(offset: number): bigint {
    this.assertOpen();
    this.#cell.addressOut = true;
    platform().threads.keepMapped(this.#cell.record);
    return this.#raw!.address + BigInt(offset);
  }

  /**
   * Detaches every buffer made, then unmaps. Idempotent. When a buffer was
   * already detached by someone else (transferred away), its memory may still
   * be reachable, so the mapping is left in place rather than risk a crash.
   * The GC backstop does the same for a MappingOwner that was never closed.
   */
  close(): void {
    if (this.#raw === undefined) return;
    this.#raw = undefined;
    this.#whole = undefined;
    this.#windows.clear();
    registry.unregister(this.#cell);
    releaseCell(this.#cell, false);
  }
}
