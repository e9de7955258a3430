/**
 * How a client gets a client slot: a free one, or else the slot of a client
 * that left or died, taken over under the block's lock so that the server
 * (which takes the same lock to touch the queues) never sees it half reset.
 *
 * @module
 */
import { BLOCK, blockAt, invalid, RECORD, SERVER_STATE } from "./layout.ts";
import type { Layout } from "./layout.ts";
import { alive, identity, serverGone } from "./peer.ts";
import { blockWord, ownerWord, recordWord, ring, SERVER_WORD } from "./service.ts";
import type { Mapped } from "./service.ts";

/** The u64 index of client `client`'s lock word. */
export const lockWord = (layout: Layout, client: number): number => (blockAt(layout, client) + BLOCK.lock) / 8;

/**
 * Takes client block `c`'s lock for this process without waiting: "held",
 * "stolen" (from a process that died holding it), or undefined while a live
 * process holds it.
 */
export function tryLockBlock(m: Mapped, c: number): "held" | "stolen" | undefined {
  const at = lockWord(m.layout, c);
  const holder = Atomics.compareExchange(m.wide, at, 0n, identity());
  if (holder === 0n) return "held";
  if (alive(holder)) return undefined;
  return Atomics.compareExchange(m.wide, at, holder, identity()) === holder ? "stolen" : undefined;
}

/** Frees client block `c`'s lock. */
export function unlockBlock(m: Mapped, c: number): void {
  Atomics.store(m.wide, lockWord(m.layout, c), 0n);
}

/** Whether the client `owner` of block `c` left (its `leaving` is set) or its process ended. */
export function deserted(m: Mapped, c: number, owner: bigint): boolean {
  return owner !== 0n && (Atomics.load(m.words, blockWord(m.layout, c, BLOCK.leaving)) !== 0 || !alive(owner));
}

/** The counters and flags a slot starts with: all 0. */
const RESET = [BLOCK.reqHead, BLOCK.reqTail, BLOCK.resHead, BLOCK.resTail, BLOCK.leaving, BLOCK.sleeping];

/**
 * Resets client block `c` (its lock held): counters and flags 0, `cpu` -1,
 * `generation` + 1, so that whoever looks next sees a slot that changed hands.
 */
export function resetBlock(m: Mapped, c: number): number {
  const { words, layout } = m;
  for (const f of RESET) Atomics.store(words, blockWord(layout, c, f), 0);
  Atomics.store(words, blockWord(layout, c, BLOCK.cpu), -1);
  const generation = (Atomics.load(words, blockWord(layout, c, BLOCK.generation)) + 1) | 0;
  Atomics.store(words, blockWord(layout, c, BLOCK.generation), generation);
  return generation >>> 0;
}

/** Throws ERR_SERVER_GONE when the server closed or (with `probe`) died. */
export function checkServer(m: Mapped, name: string, probe = true): void {
  if (Atomics.load(m.words, recordWord(RECORD.serverState)) !== SERVER_STATE.serving) throw serverGone(name, "closed");
  if (probe && !alive(Atomics.load(m.wide, SERVER_WORD))) throw serverGone(name, "died");
}

/** Takes over block `c` when its client left or died: true when it is this process's now. */
function takeOver(m: Mapped, c: number): boolean {
  const at = ownerWord(m.layout, c);
  const owner = Atomics.load(m.wide, at);
  if (!deserted(m, c, owner) || tryLockBlock(m, c) === undefined) return false;
  try {
    if (Atomics.load(m.wide, at) !== owner) return false; // the server freed it, or another client took it
    resetBlock(m, c);
    return Atomics.compareExchange(m.wide, at, owner, identity()) === owner;
  } finally {
    unlockBlock(m, c);
  }
}

/**
 * Claims a client block of `m` for this process: a free one, else one whose
 * client left or died. Its index, or undefined (having asked the server to
 * free slots) when every slot holds a live client.
 */
export function claim(m: Mapped, name: string): number | undefined {
  const { layout, words, wide } = m;
  checkServer(m, name);
  for (let c = 0; c < layout.clients; c++) {
    if (Atomics.compareExchange(wide, ownerWord(layout, c), 0n, identity()) !== 0n) continue;
    for (const f of [BLOCK.reqHead, BLOCK.reqTail, BLOCK.resHead, BLOCK.resTail]) {
      if (Atomics.load(words, blockWord(layout, c, f)) !== 0) {
        Atomics.store(words, blockWord(layout, c, BLOCK.leaving), 1);
        throw invalid(`client slot ${c} was freed with its queues not empty`);
      }
    }
    return c;
  }
  for (let c = 0; c < layout.clients; c++) if (takeOver(m, c)) return c;
  ring(words, recordWord(RECORD.serverBell), recordWord(RECORD.serverSleeping));
  return undefined;
}
