/**
 * Picks the adapter for the runtime this code runs in. Library code imports
 * {@link ffi} from here and never asks which runtime it is.
 *
 * The choice is synchronous (no top-level `await` anywhere in the module
 * graph), so `require("shmem")` works on Node 22.12 and newer. Every adapter
 * module can be imported in every runtime: each touches its runtime's API
 * (`Deno`, `bun:ffi`, koffi) only when it is used.
 *
 * @module
 */
import type { Ffi } from "./types.ts";
import { denoFfi } from "./deno.ts";
import { bunFfi } from "./bun.ts";
import { nodeFfi } from "./node.ts";

export type * from "./types.ts";
export { now, SLICE_MS } from "./time.ts";

function select(): Ffi {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return denoFfi;
  if (g.Bun !== undefined) return bunFfi;
  return nodeFfi;
}

/** The adapter of the current runtime. */
export const ffi: Ffi = select();
