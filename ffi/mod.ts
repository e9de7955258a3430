/**
 * Picks the adapter for the runtime this code runs in. Library code imports
 * {@link ffi} from here and never asks which runtime it is.
 *
 * @module
 */
import type { Ffi } from "./types.ts";

export type * from "./types.ts";

async function select(): Promise<Ffi> {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return (await import("./deno.ts")).denoFfi;
  if (g.Bun !== undefined) return (await import("./bun.ts")).bunFfi;
  return (await import("./node.ts")).nodeFfi;
}

/** The adapter of the current runtime. */
export const ffi: Ffi = await select();
