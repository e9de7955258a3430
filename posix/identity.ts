/**
 * Whether a name still refers to the object a descriptor had: the guard that
 * keeps an exit hook from removing a newer segment that reused the name.
 *
 * @module
 */
import { descriptorInode, holderConstants, nameInode } from "./holders.ts";
import { libc } from "./libc.ts";
import { canStatPaths } from "./stat.ts";

/**
 * Records the identity of the object behind `handle` now, and returns a check
 * that tells later whether `name` still refers to it. Where objects are not
 * visible as files (macOS, Windows) the check always says yes.
 */
export function sameObject(name: string, handle: number | bigint): () => boolean {
  if (typeof handle !== "number" || handle < 0) return () => true;
  const l = libc();
  const h = holderConstants(l.c.os);
  if (!h) return () => true;
  if (!canStatPaths(l)) return () => true;
  const ino = descriptorInode(l, handle, name);
  if (ino === undefined) return () => true;
  return () => nameInode(l, h, name) === ino;
}
