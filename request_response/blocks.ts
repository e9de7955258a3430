/**
 * What the server keeps about each client block, and the rule it follows to
 * touch one: take the block's lock, check that the block still holds the
 * client it knows (same owner, same generation), and only then read or
 * write its queues. A client that takes over the slot of one that left or
 * died resets the block under the same lock and bumps its generation, so the
 * server sees either the old client or the new one, never a half reset slot.
 *
 * @module
 */
import { BLOCK, invalid, requestSlotAt, responseSlotAt } from "./layout.ts";
import { alive, until } from "./peer.ts";
import { deserted, lockWord, resetBlock, tryLockBlock, unlockBlock } from "./claim.ts";
import { blockWord, ownerWord } from "./service.ts";
import type { Mapped } from "./service.ts";
import type { SlotViews } from "../internal/slot_views.ts";

/** How long the server waits for a client block's lock before it calls the client hostile. */
const LOCK_MS = 1000;

/** The server's records of one client block. */
export interface Book {
  /** The owner and generation the server last saw: the client these records are about. */
  owner: bigint;
  generation: number;
  /** Bumped whenever the records start over: a request of an earlier epoch is gone. */
  epoch: number;
  /** Requests taken, responses sent (this end writes both). */
  reqTail: number;
  resHead: number;
  /** Ids of requests released unanswered whose drop could not be queued yet. */
  readonly owed: number[];
  /** Whether a loaned response is being written. */
  loaned: boolean;
}

/** The server's side of every client block. */
export class ClientBlocks {
  readonly books: Book[];
  readonly #m: Mapped;
  readonly #views: SlotViews;

  constructor(m: Mapped, views: SlotViews) {
    this.#m = m;
    this.#views = views;
    this.books = Array.from({ length: m.layout.clients }, () => ({
      owner: 0n,
      generation: 0,
      epoch: 0,
      reqTail: 0,
      resHead: 0,
      owed: [],
      loaned: false,
    }));
  }

  /**
   * Whether block `c` changed hands since the server last looked (a new
   * client claimed it, or took it over); its records then start over.
   */
  changed(c: number): boolean {
    const b = this.books[c];
    const owner = Atomics.load(this.#m.wide, ownerWord(this.#m.layout, c));
    const generation = Atomics.load(this.#m.words, blockWord(this.#m.layout, c, BLOCK.generation)) >>> 0;
    if (owner === b.owner && generation === b.generation) return false;
    this.#restart(c, owner, generation);
    return true;
  }

  /** Drops every record of block `c` (and detaches the views of its slots): it now holds `owner`. */
  #restart(c: number, owner: bigint, generation: number): void {
    const b = this.books[c];
    b.owner = owner;
    b.generation = generation;
    b.epoch = (b.epoch + 1) >>> 0;
    b.reqTail = b.resHead = 0;
    b.owed.length = 0;
    b.loaned = false;
    const l = this.#m.layout;
    for (let s = 0; s < l.inFlight; s++) {
      this.#views.retire(requestSlotAt(l, c, s));
      this.#views.retire(responseSlotAt(l, c, s));
    }
  }

  /**
   * Takes block `c`'s lock (waiting while a client taking the slot over holds
   * it): true when the block still holds the client the records are about;
   * false otherwise, the lock then not held (the records have started over).
   * A lock taken from a process that died holding it may guard a half reset
   * block: a block whose client left or died is then freed at once.
   *
   * @throws {ShmError} `ERR_SERVICE_INVALID` when a live process holds the lock for more than a second.
   */
  enter(c: number): boolean {
    const m = this.#m;
    const got = tryLockBlock(m, c) ??
      until(() => tryLockBlock(m, c), m.words, lockWord(m.layout, c) * 2, -1, LOCK_MS, undefined, 1);
    if (got === undefined) throw invalid(`a live process has held client slot ${c}'s lock for over ${LOCK_MS} ms`);
    if (this.changed(c)) {
      unlockBlock(m, c);
      return false;
    }
    if (got === "stolen" && deserted(m, c, this.books[c].owner)) {
      this.#free(c);
      unlockBlock(m, c);
      return false;
    }
    return true;
  }

  /** Frees block `c`'s lock after {@link enter}. */
  exit(c: number): void {
    unlockBlock(this.#m, c);
  }

  /** Frees block `c` (its lock held, its client the one of the records): a new client finds it reset. */
  #free(c: number): void {
    const generation = resetBlock(this.#m, c);
    Atomics.compareExchange(this.#m.wide, ownerWord(this.#m.layout, c), this.books[c].owner, 0n);
    this.#restart(c, 0n, generation);
  }

  /**
   * Whether block `c` holds no client the server can serve: free, or its
   * client left or (with `probe`, which asks the process probe) died, in
   * which case it is freed.
   */
  gone(c: number, probe: boolean): boolean {
    this.changed(c);
    const owner = this.books[c].owner;
    if (owner === 0n) return true;
    const left = Atomics.load(this.#m.words, blockWord(this.#m.layout, c, BLOCK.leaving)) !== 0;
    if (!left && !(probe && !alive(owner))) return false;
    if (this.enter(c)) {
      this.#free(c);
      this.exit(c);
    }
    return true;
  }
}
