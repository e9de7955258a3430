/**
 * The kernel objects through which a word of a named Windows mapping is
 * waited on and woken, in any process that maps it.
 *
 * Two processes that map `Local\frames` know nothing of each other's
 * addresses, only the mapping's name and a word's offset in it. So every
 * word gets a pair of named semaphores in the mapping's namespace, made by
 * the first waiter and opened by name by everyone else:
 *
 * - `<ns>\shmem_wait_<hash>_<offset>_w` — the wake semaphore: a waiter
 *   sleeps on it, `notify` releases one unit per waiter it wakes;
 * - `<ns>\shmem_wait_<hash>_<offset>_n` — the count semaphore: its count is
 *   the number of waiters of the word (each waiter adds 1 before it checks
 *   the word and takes it back when it leaves), so `notify` knows how many it
 *   can wake.
 *
 * `<hash>` is FNV-1a 64 of the mapping's full name (`Local\frames`) in hex,
 * `<offset>` the word's byte offset in hex: the names stay short whatever
 * the mapping's name. Like the mapping, they vanish with their last handle.
 * These names are the protocol between processes: another program (or
 * another version of shmem) that waits on a shmem word must use them.
 *
 * Only memory with a name gets them: Segments (named mappings). A
 * `MappedFile`'s unnamed mapping has no name another process could derive,
 * so waits on it poll (see windows/wait.ts).
 *
 * @module
 */
import type { Namespace, RawMapping } from "../platform/contracts.ts";
import { kernel32, WIN } from "./kernel32.ts";
import { objectName } from "./strings.ts";

/** FNV-1a 64 of the UTF-16 code units of `text`, as 16 hex digits. */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

/** The names (without namespace) of the wake and count semaphores of the word at `offset` in mapping `name`. */
export function wakeObjectNames(name: string, namespace: Namespace, offset: number): { wake: string; count: string } {
  const base = `shmem_wait_${fnv1a64(`${namespace === "global" ? "Global" : "Local"}\\${name}`)}_${
    offset.toString(16)
  }`;
  return { wake: `${base}_w`, count: `${base}_n` };
}

/** The two semaphores of one word, open in this process. */
export interface WordObjects {
  readonly wake: bigint;
  readonly count: bigint;
  /** Waits of this process that use the handles now; they are closed only when none does. */
  users: number;
  /** The mapping's record: released once the mapping is. */
  readonly owner: { readonly released: boolean };
}

interface Tracked {
  readonly base: bigint;
  readonly end: bigint;
  readonly name: string;
  readonly namespace: Namespace;
  readonly words: Map<number, WordObjects>;
  released: boolean;
}

/** The named mappings of this process, by address. */
const tracked: Tracked[] = [];

function closeWord(objects: WordObjects): void {
  const k = kernel32().k.symbols;
  k.CloseHandle(objects.wake);
  k.CloseHandle(objects.count);
}

/**
 * Makes the named mapping `raw` known to the wait code; its `release` then
 * forgets it and closes the word objects that no wait is using (the others
 * close when their last wait ends).
 */
export function trackNamedMapping(raw: RawMapping, name: string, namespace: Namespace): RawMapping {
  const t: Tracked = {
    base: raw.address,
    end: raw.address + BigInt(raw.size),
    name,
    namespace,
    words: new Map(),
    released: false,
  };
  tracked.push(t);
  return {
    ...raw,
    release(keepMapped?: boolean) {
      const at = tracked.indexOf(t);
      if (at >= 0) tracked.splice(at, 1);
      t.released = true;
      for (const [offset, objects] of t.words) {
        if (objects.users === 0) {
          closeWord(objects);
          t.words.delete(offset);
        }
      }
      raw.release(keepMapped);
    },
  };
}

function find(address: bigint): { t: Tracked; offset: number } | undefined {
  for (let i = tracked.length - 1; i >= 0; i--) {
    const t = tracked[i];
    if (address >= t.base && address < t.end) return { t, offset: Number(address - t.base) };
  }
  return undefined;
}

/** A semaphore handle, or 0n. `create`: CreateSemaphoreW (opens it when it exists); else OpenSemaphoreW. */
function semaphore(name: string, namespace: Namespace, create: boolean): bigint {
  const k = kernel32().k.symbols;
  const wide = objectName(name, namespace);
  return (create
    ? k.CreateSemaphoreW(0n, 0, WIN.SEMAPHORE_MAX, wide)
    : k.OpenSemaphoreW(WIN.SEMAPHORE_ALL_ACCESS, 0, wide));
}

/**
 * The objects of the word at `address`, made when missing (`create`, for a
 * waiter) or only when another process made them (a notifier: no objects
 * means no waiter). `undefined` when the address is in no named mapping of
 * this process, or the objects cannot be made (a name held by another kind of
 * object, or denied to this user): the caller then polls.
 */
export function wordObjects(address: bigint, create: boolean): WordObjects | undefined {
  const found = find(address);
  if (found === undefined) return undefined;
  const { t, offset } = found;
  const known = t.words.get(offset);
  if (known !== undefined) return known;
  const names = wakeObjectNames(t.name, t.namespace, offset);
  // The wake semaphore first: whoever finds the count semaphore finds both.
  const wake = semaphore(names.wake, t.namespace, create);
  if (wake === 0n) return undefined;
  const count = semaphore(names.count, t.namespace, create);
  if (count === 0n) {
    kernel32().k.symbols.CloseHandle(wake);
    return undefined;
  }
  const objects: WordObjects = { wake, count, users: 0, owner: t };
  t.words.set(offset, objects);
  return objects;
}

/** Marks `objects` in use by one more wait of this process. */
export function useWord(objects: WordObjects): void {
  objects.users++;
}

/** One wait is done with `objects`: closes them when it was the last and their mapping is gone. */
export function doneWithWord(objects: WordObjects): void {
  if (--objects.users > 0 || !objects.owner.released) return;
  closeWord(objects);
}
