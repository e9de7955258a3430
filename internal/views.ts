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
import type { RawMapping } from "./backend.ts";
import { ShmError } from "../errors.ts";
import { ffi } from "../ffi/mod.ts";

/** Where a window of the mapping lives: a buffer and the offset in it. */
export interface Located {
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
}

/** Releases a mapping once its owner and every buffer over it are garbage. */
interface Cell {
  live: number;
  release: (() => void) | undefined;
}

/** Where each buffer this library made over shared memory starts, and whether writes reach the other processes. */
const origins = new WeakMap<ArrayBufferLike, { readonly address: bigint; readonly shared: boolean }>();

/**
 * The base address of `buffer` when this library made it over a mapping, and
 * whether the mapping is shared (writable, not copy-on-write); `undefined` for
 * any other buffer. A detached buffer keeps its entry but has length 0.
 */
export function bufferOrigin(
  buffer: ArrayBufferLike,
): { readonly address: bigint; readonly shared: boolean } | undefined {
  return origins.get(buffer);
}

const registry = new FinalizationRegistry<Cell>((cell) => {
  if (--cell.live === 0 && cell.release) {
    const release = cell.release;
    cell.release = undefined;
    release();
  }
});

/**
 * Mappings whose address was handed to native code (`unsafeAddress()`): held
 * here so the GC backstop never unmaps them; only close() lets go.
 */
const addressHandedOut = new Set<Views>();

/** The buffers over one live mapping. Internal: users see Regions and typed arrays. */
export class Views {
  readonly size: number;
  readonly readOnly: boolean;
  readonly #what: string;
  readonly #maxView: number;
  #raw: RawMapping | undefined;
  #whole: ArrayBuffer | undefined;
  readonly #windows = new Map<string, ArrayBuffer>();
  readonly #cell: Cell;
  /** Set when a buffer was detached by someone else: its memory may live on elsewhere. */
  #escaped = false;

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
    this.#cell = { live: 1, release: () => raw.release() };
    registry.register(this, this.#cell, this.#cell);
  }

  /** Whether close() ran. */
  get closed(): boolean {
    return this.#raw === undefined;
  }

  /** Throws the use-after-close error when closed. */
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
    this.#cell.live++;
    registry.register(buffer, this.#cell, this.#cell);
    return buffer;
  }

  #fresh(buffer: ArrayBuffer | undefined): ArrayBuffer | undefined {
    if (buffer !== undefined && buffer.detached) {
      this.#escaped = true;
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
   * The address of byte `offset` (bounds already checked), for native code.
   * From now on the GC backstop never unmaps this mapping: only close() does.
   */
  unsafeAddress(offset: number): bigint {
    this.assertOpen();
    addressHandedOut.add(this);
    return this.#raw!.address + BigInt(offset);
  }

  /**
   * Detaches every buffer made, then unmaps. Idempotent. When a buffer was
   * already detached by someone else (transferred away), its memory may still
   * be reachable, so the mapping is left in place rather than risk a crash.
   */
  close(): void {
    const raw = this.#raw;
    if (raw === undefined) return;
    this.#raw = undefined;
    addressHandedOut.delete(this);
    registry.unregister(this.#cell);
    this.#cell.release = undefined;
    const buffers = [this.#whole, ...this.#windows.values()];
    this.#whole = undefined;
    this.#windows.clear();
    for (const buffer of buffers) {
      if (buffer === undefined) continue;
      if (buffer.detached) {
        this.#escaped = true;
        continue;
      }
      buffer.transfer(0);
    }
    raw.release(this.#escaped);
  }
}
