/**
 * What every kind of mapped memory shares: zero-copy views, bounds-checked
 * regions, and a close() that detaches every view before unmapping.
 *
 * @module
 */
import { checkBounds, makeRegion } from "./region.ts";
import type { Region } from "./region.ts";
import { ShmError } from "./errors.ts";
import type { MappingOwner } from "./internal/views.ts";

let attach: (memory: MappedMemory, owner: MappingOwner) => void;
let ownerOf: (memory: MappedMemory) => MappingOwner | undefined;

/**
 * A lease from {@link MappedMemory.pin}: declares that native code holds the
 * memory at `address`, so that `close()` throws instead of unmapping under it.
 */
export interface MemoryPin {
  /** The base address of the mapping, as {@link MappedMemory.unsafeAddress} returns it. */
  readonly address: bigint;
  /** Bytes mapped at `address`. */
  readonly size: number;
  /** True once released. */
  readonly released: boolean;
  /** Ends the lease (idempotent): call it once the native holder is done with the memory. */
  release(): void;
  /** Releases; lets `using` end the lease at the end of a block. */
  [Symbol.dispose](): void;
}

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
  #owner: MappingOwner | undefined;
  #pins = 0;

  static {
    attach = (memory, owner) => {
      memory.#owner = owner;
    };
    ownerOf = (memory) => memory.#owner;
  }

  /** Subclasses attach their mapping with the library's internal helper. */
  protected constructor() {}

  #open(): MappingOwner {
    const owner = this.#owner;
    if (owner === undefined) {
      throw new ShmError({ code: "ERR_USE_AFTER_CLOSE", errno: 0, message: "This memory was never mapped" });
    }
    owner.assertOpen();
    return owner;
  }

  /** Size of the mapping in bytes. */
  get size(): number {
    return this.#owner?.size ?? 0;
  }

  /** True when writes through the views stay private to this process and never reach the shared memory. */
  get readOnly(): boolean {
    return this.#owner?.readOnly ?? true;
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#owner?.closed ?? true;
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
    const owner = this.#open();
    const at = owner.locate(0, owner.size);
    return new Uint8Array(at.buffer, at.byteOffset, owner.size);
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
    const owner = this.#open();
    return makeRegion(owner, offset, checkBounds(offset, length, owner.size));
  }

  /**
   * The base address of the mapping, for native code that needs a pointer
   * (a C struct's `void *`, such as MIT-SHM's `XShmSegmentInfo.shmaddr`, or
   * your own `Deno.dlopen`/`bun:ffi`/koffi calls). Unsafe: shmem cannot see
   * what native code does with it.
   *
   * It stays valid until `close()` of this object, and only until then:
   * after `close()` the address names unmapped memory (or a later mapping),
   * and native code that still uses it crashes the process (SIGSEGV) or
   * corrupts other data. Once an address was handed out, the garbage
   * collector never unmaps the mapping (a dropped object without `close()`
   * stays mapped until the process exits), so only your `close()` ends it:
   * make every native holder let go first (for MIT-SHM: `XShmDetach` and
   * `XSync`), or hold a {@link MappedMemory.pin} so that `close()` refuses.
   * Bytes `[address, address + size)` are this mapping; for a `readOnly`
   * or `private` open they are this process's own copy.
   *
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` after close().
   * @example The address of the bytes the views show
   * ```ts
   * import { Segment, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * const address: bigint = seg.unsafeAddress(); // pass it to native code as a pointer
   * address % 4096n; // 0n: mappings start on a page
   * seg.unlink();
   * ```
   */
  unsafeAddress(): bigint {
    return this.#open().unsafeAddress(0);
  }

  /**
   * Declares that native code holds this memory until the pin is released:
   * while any pin is held, `close()` throws a `ShmError` with code
   * `ERR_PINNED` instead of unmapping memory that native code may still
   * read or write (which would crash the process). The pin gives the
   * address ({@link MappedMemory.unsafeAddress}); with `using`, declare the
   * pin after the memory so that it is released first.
   *
   * @throws {ShmError} `ERR_USE_AFTER_CLOSE` after close().
   * @example Hold the memory while native code uses it
   * ```ts
   * import { Segment, ShmError, uniqueName } from "./mod.ts";
   * using seg = Segment.create(uniqueName(), { size: 4096 });
   * {
   *   using pin = seg.pin();
   *   pin.address; // give this to native code
   *   try {
   *     seg.close();
   *   } catch (error) {
   *     (error as ShmError).code; // "ERR_PINNED": the memory stays mapped
   *   }
   *   // ...the native code lets go of the memory here
   * } // pin released
   * seg.unlink();
   * ```
   */
  pin(): MemoryPin {
    const owner = this.#open();
    const address = owner.unsafeAddress(0);
    this.#pins++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#pins--;
    };
    return {
      address,
      size: owner.size,
      get released() {
        return released;
      },
      release,
      [Symbol.dispose]: release,
    };
  }

  /**
   * Unmaps the memory. Every view handed out becomes detached (length 0).
   * Idempotent. Does not remove a name: see the subclass's `unlink()`.
   * An address from {@link MappedMemory.unsafeAddress} is invalid from here
   * on: native code must be done with it before this call.
   *
   * @throws {ShmError} `ERR_PINNED` while a {@link MappedMemory.pin} is held; nothing is unmapped then.
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
    if (this.#pins > 0 && !this.closed) {
      throw new ShmError({
        code: "ERR_PINNED",
        errno: 0,
        message: `Cannot close this memory (${this.size} bytes): native code holds it through ${this.#pins} pin${
          this.#pins === 1 ? "" : "s"
        } from pin()`,
        hint: "Release every pin once the native holder is done with the memory, then close()",
      });
    }
    this.#owner?.close();
  }

  /** Closes; lets `using` close the memory at the end of a block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Gives a new MappedMemory the owner of its mapping (internal: called once, by the subclass's constructor). */
export function attachOwner(memory: MappedMemory, owner: MappingOwner): void {
  attach(memory, owner);
}

/** The owner of a MappedMemory's mapping (internal: for views that must detach before the mapping closes). */
export function mappingOwner(memory: MappedMemory): MappingOwner | undefined {
  return ownerOf(memory);
}
