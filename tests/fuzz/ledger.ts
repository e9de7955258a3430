// What a fuzz process holds, exactly: descriptors and mappings of memory whose
// names carry its prefix (plus System V memory, memfds and its files), each
// mapping tied to the memory that made it, so that a leaked mapping is told
// apart from one that must stay by the documented rules:
//
// - a memory one of whose buffers was moved away keeps its mapping until the
//   process ends (the moved buffer may still point into it);
// - a memory whose address was handed out (pin(), unsafeAddress()) and that
//   was dropped unclosed keeps it too: the GC backstop never unmaps it.
//
// A count (mappings now, minus mappings before, minus memories moved) is
// wrong both ways: it misses the second rule, and a System V read-only or
// private open shows no mapping of the segment at all (its bytes are a
// private anonymous copy), moved or not.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** What happened to one memory, kept after the memory itself is gone. */
export interface Fate {
  /** The call that opened it. */
  readonly opened: string;
  /** A buffer of it was moved away. */
  moved: boolean;
  /** Its address was handed out. */
  pinned: boolean;
  /** Dropped while open: the GC backstop closes it. */
  droppedOpen: boolean;
}

/** Whether the documented rules keep this memory's mapping until the process ends. */
export function mustStay(fate: Fate | undefined): boolean {
  return fate !== undefined && (fate.moved || (fate.pinned && fate.droppedOpen));
}

/** The descriptors and mappings of one process that match `prefix`, tied to the memories that made them. */
export class Ledger {
  readonly #ours: RegExp;
  readonly #fdsBefore: number;
  readonly #mapsBefore: Set<string>;
  readonly #byStart = new Map<string, Fate>();

  constructor(prefix: string) {
    this.#ours = new RegExp(`/dev/shm/${prefix}|SYSV|memfd:shmem|${prefix}\\.file`);
    this.#fdsBefore = this.fds();
    this.#mapsBefore = this.starts();
  }

  /** How many descriptors of ours are open. */
  fds(): number {
    let n = 0;
    for (const fd of readdirSync("/proc/self/fd")) {
      try {
        if (this.#ours.test(readlinkSync(`/proc/self/fd/${fd}`))) n++;
      } catch {
        // closed meanwhile (the directory's own descriptor)
      }
    }
    return n;
  }

  /** Our lines of /proc/self/maps. */
  lines(): string[] {
    return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => this.#ours.test(l));
  }

  /** The start addresses of our mappings. */
  starts(): Set<string> {
    return new Set(this.lines().map((l) => l.split("-")[0]));
  }

  /** Runs `open` and ties the mappings it made to a new fate (named by `opened()` then), returned with its value. */
  track<T>(open: () => T, opened: () => string): { value: T; fate: Fate } {
    const was = this.starts();
    const value = open();
    const fate: Fate = { opened: opened(), moved: false, pinned: false, droppedOpen: false };
    if (value !== undefined) { for (const start of this.starts()) if (!was.has(start)) this.#byStart.set(start, fate); }
    return { value, fate };
  }

  /** Our mappings that are neither from before nor kept by the documented rules, each with its fate if known. */
  leakedMaps(): { line: string; fate: Fate | undefined }[] {
    return this.lines()
      .map((line) => ({ line, start: line.split("-")[0] }))
      .filter(({ start }) => !this.#mapsBefore.has(start) && !mustStay(this.#byStart.get(start)))
      .map(({ line, start }) => ({ line, fate: this.#byStart.get(start) }));
  }

  /** Descriptors opened since the ledger began and still open, and leaked mappings. */
  leaks(): { fds: number; maps: number } {
    return { fds: this.fds() - this.#fdsBefore, maps: this.leakedMaps().length };
  }
}
