/**
 * The one place a runtime's raw pointer values become the bigints of the
 * {@link Ffi} contract, and back.
 *
 * @module
 */
import type { NativeFunction, NativeType } from "./types.ts";

/** How one runtime converts between its pointer values and bigint addresses. */
export interface PointerCodec<P> {
  /** A bigint address (0n for NULL) as the runtime's pointer argument. */
  toPointer(address: bigint): P;
  /** The runtime's pointer result as a bigint address (0n for NULL). */
  fromPointer(pointer: P | null): bigint;
}

/**
 * Wraps a raw native function so that its `"pointer"` parameters take bigint
 * addresses and its `"pointer"` result is a bigint. Functions without
 * pointers are returned as they are (no cost on the hot path).
 */
export function wrapPointers<P>(
  fn: NativeFunction,
  parameters: readonly NativeType[],
  result: NativeType,
  codec: PointerCodec<P>,
): NativeFunction {
  const pointerArgs = parameters.flatMap((t, i) => t === "pointer" ? [i] : []);
  if (pointerArgs.length === 0 && result !== "pointer") return fn;
  return (...args: unknown[]) => {
    for (const i of pointerArgs) args[i] = codec.toPointer(BigInt(args[i] as bigint));
    const value = fn(...args);
    return result === "pointer" ? codec.fromPointer(value) : value;
  };
}
