/**
 * Taking over the name of a service whose owner (a request-response server,
 * a publisher) closed or died, when several processes may try at once.
 *
 * The rule, the same for every kind: a process that finds the name taken
 * opens the service there and, when its owner is gone, claims the right to
 * replace it by a compare-and-swap of the service's `taker` word (a u64
 * process identity, 0 when nobody claimed it) from 0, or from a process that
 * has died, to its own identity. Only the winner unlinks the name and
 * creates the service again; a loser finds a live taker (or, a moment later,
 * the winner's new service) and reports the name as taken. The stale
 * service's own ports still see their owner gone, as before: nothing in it
 * changes but the `taker` word.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { Segment, unlinkIfSame } from "../segment.ts";
import { now, processProbe } from "../platform/mod.ts";
import { SERVICE_FIELD, SERVICE_HEADER_BYTES } from "./header.ts";

/** Bits of an identity word that hold the pid. */
const PID_BITS = 22n;
const PID_MASK = (1n << PID_BITS) - 1n;

let self: bigint | undefined;

/** This process as an identity word: `pid | start << 22` (as a signed 64-bit integer), never 0. */
export function identity(): bigint {
  if (self === undefined) {
    const { pid, start } = processProbe().self();
    self = BigInt.asIntN(64, BigInt(pid) | (BigInt(start) << PID_BITS)); // as a BigInt64Array reads it back
  }
  return self;
}

/** The pid in an identity word. */
export function pidOf(owner: bigint): number {
  return Number(owner & PID_MASK);
}

/** False only when the process `owner` names has certainly ended (this process is alive). */
export function alive(word: bigint): boolean {
  const owner = BigInt.asIntN(64, word);
  if (owner === identity()) return true;
  const pid = pidOf(owner);
  if (pid === pidOf(identity())) return false; // an earlier process with our pid
  return processProbe().alive(pid, Number(BigInt.asUintN(64, owner) >> PID_BITS));
}

/**
 * Claims the right to replace a service whose owner is gone: compare-and-swap
 * of `words[index]` from 0 or a dead process to this one. False when a live
 * process claimed it first.
 */
export function claimTakeover(words: BigInt64Array, index: number): boolean {
  const taker = Atomics.load(words, index);
  if (taker !== 0n && alive(taker)) return false;
  return Atomics.compareExchange(words, index, taker, identity()) === taker;
}

/** What a kind's judge says of the service that holds a name. */
export type Verdict =
  /** Its owner is gone and this process won the right to replace it. */
  | "claimed"
  /** Its owner lives, or another live process is replacing it. */
  | "live"
  /** Not a service of this kind (or not one at all): not ours to replace. */
  | "foreign";

/** How long a process waits for another one still laying out the service it found at the name it wants. */
const LAYOUT_WAIT_MS = 1000;

/**
 * Opens the segment at `name` once its header is begun and asks `judge`
 * (which may throw for a segment that is not its kind's service: "foreign")
 * about it; "vanished" when the name went away meanwhile. When this process
 * claimed it, removes the name, but only while it still names the segment
 * judged (another process may have replaced it since: then the name is left
 * alone and looked at again).
 */
function look(name: string, judge: (seg: Segment, timeoutMs: number) => Verdict): Verdict | "vanished" {
  const seg = openBegun(name, LAYOUT_WAIT_MS);
  if (typeof seg === "string") return seg;
  try {
    let verdict: Verdict;
    try {
      verdict = judge(seg, LAYOUT_WAIT_MS);
    } catch {
      return "foreign";
    }
    if (verdict === "claimed") unlinkIfSame(seg);
    return verdict;
  } finally {
    seg.close();
  }
}

/**
 * Opens the segment at `name` once it has a service header begun, waiting up
 * to `timeoutMs`: its creator may not have sized it or written the header
 * yet (a racer sees a new segment at once), and opening may fail meanwhile.
 * The open segment, "vanished" (no such name) or "foreign" (still no header,
 * or still not openable, after the wait).
 */
function openBegun(name: string, timeoutMs: number): Segment | "vanished" | "foreign" {
  const deadline = now() + timeoutMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let seg: Segment | undefined;
    try {
      seg = Segment.open(name); // fails while the segment is still empty (nothing to map)
    } catch (error) {
      if (isCode(error, "ENOENT")) return "vanished";
    }
    if (seg !== undefined) {
      if (seg.size >= SERVICE_HEADER_BYTES && seg.region(SERVICE_FIELD.magic, 4).array(Uint32Array)[0] !== 0) {
        return seg;
      }
      seg.close();
    }
    if (now() >= deadline) return "foreign";
    Atomics.wait(nap, 0, 0, 1); // a millisecond's nap on memory nobody else sees
  }
}

/** Whether `error` is the ShmError of a name that exists (or does not). */
const isCode = (error: unknown, code: string) => error instanceof ShmError && error.code === code;

/** How many times a name is looked at before it counts as taken (each failed look means another process acted). */
const ATTEMPTS = 4;

/**
 * Creates a service with `create`; when the name exists, asks `judge` about
 * the service there (the segment open, and how long to wait for its layout)
 * and, when this process claimed it, unlinks the name (only while it still
 * names the service judged) and creates again.
 * Exactly one of several processes racing for a gone service's name ends up
 * creating it.
 *
 * @param what How errors name the service's kind and owner ("request-response server").
 * @throws {ShmError} `EEXIST` when a live owner holds the name or another process is replacing it at the
 *   same moment (with a message saying so), or when the name holds something else; what `create` throws.
 */
export function createOrTakeOver<T>(
  name: string,
  what: string,
  create: () => T,
  judge: (seg: Segment, timeoutMs: number) => Verdict,
): T {
  let last: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return create();
    } catch (error) {
      if (!isCode(error, "EEXIST")) throw error;
      last = error;
    }
    const verdict = look(name, judge);
    if (verdict === "foreign") throw last;
    if (verdict === "live") break;
  }
  const cause = last as ShmError;
  throw new ShmError({
    code: "EEXIST",
    errno: cause.errno,
    syscall: cause.syscall,
    path: name,
    message: `'${name}' is taken: a live ${what} holds it, or another process is taking it over at the same moment`,
    hint: `Connect to that one, close it first, or pick another name`,
    cause,
  });
}
