/**
 * A bounds-checked window of a mapping.
 *
 * @module
 */
import type { MappingOwner } from "./internal/views.ts";
import { describe, integer } from "./internal/options.ts";

/** The typed arrays a Region can make. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A typed-array constructor, such as `Float64Array`. */
export interface TypedArrayConstructor<T extends TypedArray> {
  /** Makes a view of `length` elements at `byteOffset` in `buffer`. */
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  /** Size of one element in bytes. */
  readonly BYTES_PER_ELEMENT: number;
}

const CONSTRUCTORS: ReadonlySet<unknown> = new Set([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]);

/** Checks `offset`/`length` against a window of `size` bytes; returns the length (default: the rest). */
export function checkBounds(offset: unknown, length: unknown, size: number): number {
  if (typeof offset !== "number") {
    throw new TypeError(`Region offset must be a number, got ${typeof offset}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) {
    throw new RangeError(`Region offset must be an integer from 0 to ${size}, got ${describe(offset)}`);
  }
  if (length === undefined) return size - offset;
  if (typeof length !== "number") {
    throw new TypeError(`Region length must be a number, got ${typeof length}`);
  }
  if (!Number.isSafeInteger(length) || length < 0 || length > size - offset) {
    throw new RangeError(
      `Region length must be an integer from 0 to ${size - offset} (the bytes after offset ${offset}), got ${
        describe(length)
      }`,
    );
  }
  return integer(length);
}

let make: (owner: MappingOwner, offset: number, length: number) => Region;

/**
 * A window `[offset, offset + length)` of a segment or other mapping. Every
 * view it returns is zero-copy over the shared memory and becomes detached
 * (length 0) when the mapping is closed.
 *
 * @example Typed views over a header and a body
 * ```ts
 * import { Segment, uniqueName } from "./mod.ts";
 *
 * const seg = Segment.create(uniqueName(), { size: 4096 });
 * const header = seg.region(0, 64);
 * header.view().setUint32(0, 7, true);          // little-endian u32 at byte 0
 * const body = seg.region(64);                  // the rest of the segment
 * const samples = body.array(Float64Array);     // 504 doubles
 * samples[0] = Math.PI;
 * seg.close();                                  // header, body and samples now have length 0
 * seg.unlink();
 * ```
 */
export class Region {
  readonly #owner: MappingOwner;
  /** Byte offset of this window from the start of the mapping. */
  readonly offset: number;
  /** Length of this window in bytes. */
  readonly length: number;

  static {
    make = (owner, offset, length) => new Region(owner, offset, length);
  }

  private constructor(owner: MappingOwner, offset: number, length: number) {
    this.#owner = owner;
    this.offset = offset;
    this.length = length;
  }

  /** Whether writes through this window stay private to this process (a read-only or copy-on-write mapping). */
  get readOnly(): boolean {
    return this.#owner.readOnly;
  }

  /**
   * A Uint8Array over the window, zero-copy.
   *
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * seg.region(16, 4).bytes().set([1, 2, 3, 4]);
   * seg.unlink();
   * ```
   */
  bytes(): Uint8Array {
    const at = this.#owner.locate(this.offset, this.length);
    return new Uint8Array(at.buffer, at.byteOffset, this.length);
  }

  /**
   * A DataView over the window, for fields of any width and endianness.
   *
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * seg.region(0, 8).view().setBigUint64(0, 42n, true);
   * seg.unlink();
   * ```
   */
  view(): DataView {
    const at = this.#owner.locate(this.offset, this.length);
    return new DataView(at.buffer, at.byteOffset, this.length);
  }

  /**
   * A typed array of `type` over the whole window. Atomics on an Int32Array
   * or BigInt64Array made here work across processes.
   *
   * @throws {TypeError} when `type` is not a typed-array constructor.
   * @throws {RangeError} when the window's offset is not a multiple of the
   *   element size or its length is not a whole number of elements.
   * @example A counter shared by processes
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const counter = seg.region(0, 4).array(Int32Array);
   * Atomics.add(counter, 0, 1);
   * seg.unlink();
   * ```
   */
  array<T extends TypedArray>(type: TypedArrayConstructor<T>): T {
    if (!CONSTRUCTORS.has(type)) {
      throw new TypeError(
        `Region.array needs a typed-array constructor such as Float64Array, got ${describe(type)}`,
      );
    }
    const size = type.BYTES_PER_ELEMENT;
    if (this.offset % size !== 0) {
      throw new RangeError(`Region offset ${this.offset} is not a multiple of ${type.name}'s element size ${size}`);
    }
    if (this.length % size !== 0) {
      throw new RangeError(
        `Region length ${this.length} is not a whole number of ${type.name} elements (${size} bytes each)`,
      );
    }
    const at = this.#owner.locate(this.offset, this.length);
    return new type(at.buffer, at.byteOffset, this.length / size);
  }

  /**
   * The address of this window's first byte, for native code that needs a
   * pointer. Unsafe, with the same rules as
   * {@link MappedMemory.unsafeAddress}: valid only until the mapping this
   * window belongs to is closed, native code must be done with it before
   * that `close()`, and once handed out the garbage collector never unmaps
   * the mapping. Native code must stay inside `[address, address + length)`.
   *
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` after the mapping was closed.
   * @example The address of a window
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const body = seg.region(64);
   * body.unsafeAddress() - seg.unsafeAddress(); // 64n
   * seg.unlink();
   * ```
   */
  unsafeAddress(): bigint {
    return this.#owner.unsafeAddress(this.offset);
  }

  /**
   * A window inside this one; `offset` is relative to this window.
   *
   * @param offset Start, from 0 to `length`.
   * @param length Bytes; default: the rest of this window.
   * @example
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const body = seg.region(64);
   * const firstRow = body.region(0, 256); // bytes 64..319 of the segment
   * seg.unlink();
   * ```
   */
  region(offset: number, length?: number): Region {
    this.#owner.assertOpen();
    const n = checkBounds(offset, length, this.length);
    return new Region(this.#owner, this.offset + offset, n);
  }
}

/** Makes a Region over `owner` (internal; bounds already checked). */
export function makeRegion(owner: MappingOwner, offset: number, length: number): Region {
  return make(owner, integer(offset), integer(length));
}
