/**
 * `Segment.create(name, { unlinkOnExit: true })`: the name goes away when the
 * creating process ends normally or by SIGINT/SIGTERM, unless it now names a
 * different segment (someone removed ours and made a new one).
 *
 * @module
 */
import { atExit } from "../ffi/exit.ts";
import { platform } from "../platform/mod.ts";

/** Arranges for `name` (the object behind `handle`) to be unlinked at exit; returns the cancel function. */
export function unlinkOnExit(name: string, handle: number | bigint): () => void {
  const p = platform();
  const backend = p.named;
  if (!backend.persistent) return () => {};
  const check = p.holders.sameObject(name, handle);
  return atExit(() => {
    if (check()) backend.unlink(name, "local");
  });
}
