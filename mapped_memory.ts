/**
 * What every kind of mapped memory shares: zero-copy views, bounds-checked
 * regions, and a close() that detaches every view before unmapping.
 *
 * @module
 */
import { checkBounds, makeRegion } from "./region.ts";
import type { Region } from "./region.ts";
import { ShmError } from "./errors.ts";
import type { Views } from "./internal/views.ts";

let bind: (memory: MappedMemory, views: Views) => void;

/**
 * The base of {@link Segment} and the other kinds of shared memory: memory
 * mapped into this process that you read and write through views.
 *
 * Views (`bytes()`, `region().array(...)`, ...) are zero-copy. After
 * `close()` every view ever handed out is detached: it has length 0, reads
 * give `undefined`, and it can never crash the process.
 *
 * Close what you open (`using` does it for you). A forgotten object is closed
 * by the garbage collector as `close()` would close it: keep the object (or a
 * Region of it) for as long as you use its views, since a view alone does not
 * keep the memory mapped. When a buffer was moved away
 * (`buffer.transfer()`, `structuredClone` or `postMessage` with a transfer
 * list), neither `close()` nor the collector unmaps: the moved buffer keeps
 * working, and the mapping stays until the process ends.
 *
 * @example Works the same for every kind
 * ```ts
 * import { type MappedMemory, Segment, uniqueName } from "./mod.ts";
 *
 * function fill(memory: MappedMemory, value: number) {
 *   memory.bytes().fill(value);
 * }
 * using seg = Segment.create(uniqueName(), { size: 4096 });
 * fill(seg, 0xff);
 * seg.unlink();
 * ```
 */
export class MappedMemory {
  #views: Views | undefined;

  static {
    bind = (memory, views) => {
      memory.#views = views;
    };
  }

  /** Subclasses attach their mapping with the library's internal helper. */
  protected constructor() {}

  #open(): Views {
    const views = this.#views;
    if (views === undefined) {
      throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "This memory was never mapped" });
    }
    views.assertOpen();
    return views;
  }

  /** Size of the mapping in bytes. */
  get size(): number {
    return this.#views?.size ?? 0;
  }

  /** True when writes through the views stay private to this process and never reach the shared memory. */
  get readOnly(): boolean {
    return this.#views?.readOnly ?? true;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#views?.closed ?? true;
  }

  /**
   * A Uint8Array over the whole mapping, zero-copy. On Bun a mapping over
   * 4 GiB cannot be one array: this throws a RangeError there, and
   * `region()` reaches every byte.
   *
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * seg.bytes()[0] = 42;
   * seg.unlink();
   * ```
   */
  bytes(): Uint8Array {
    const views = this.#open();
    const at = views.locate(0, views.size);
    return new Uint8Array(at.buffer, at.byteOffset, views.size);
  }

  /**
   * A bounds-checked window of the mapping.
   *
   * @param offset Start in bytes, from 0 to `size`.
   * @param length Bytes; default: the rest of the mapping.
   * @throws {TypeError} when offset or length is not a number.
   * @throws {RangeError} when the window is not inside the mapping or not integral.
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const header = seg.region(0, 64);
   * header.view().setUint32(0, 7, true);
   * seg.unlink();
   * ```
   */
  region(offset: number, length?: number): Region {
    const views = this.#open();
    return makeRegion(views, offset, checkBounds(offset, length, views.size));
  }

  /**
   * Unmaps the memory. Every view handed out becomes detached (length 0).
   * Idempotent. Does not remove a name: see the subclass's `unlink()`.
   *
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * const seg = Segment.create(uniqueName(), { size: 4096 });
   * const bytes = seg.bytes();
   * seg.close();
   * bytes.length; // 0
   * seg.unlink();
   * ```
   */
  close(): void {
    this.#views?.close();
  }

  /** Closes; lets `using` close the memory at the end of a block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Attaches a mapping's views to a new MappedMemory (internal). */
export function attachViews(memory: MappedMemory, views: Views): void {
  bind(memory, views);
}
