/**
 * The shared layout of a publish-subscribe service (docs/pubsub.md), as pure
 * arithmetic: the parameters, the offsets they give, and the checks a reader
 * makes before it trusts memory another process wrote.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import type { ServiceHeader } from "../service/header.ts";

/** The layout version stored in the service header. */
export const PUBSUB_VERSION = 3;
/** Bytes of the control area. */
export const CONTROL_BYTES = 256;
/** Bytes of one sample record. */
export const RECORD_BYTES = 16;
/** Bytes of one queue entry: its stamp (position + 1), the sample index, its length and sequence number. */
export const ENTRY_BYTES = 16;

/** Int32 word indices of the control area (byte offset / 4). */
export const C = {
  subscribers: 0,
  depth: 1,
  history: 2,
  loans: 3,
  borrows: 4,
  samples: 5,
  policy: 6,
  sampleSize: 7,
  stride: 8,
  queuesOffset: 9,
  recordsOffset: 10,
  historyOffset: 11,
  payloadOffset: 12,
  /** The u64 control lock at byte 64 (BigInt64Array index 8). */
  lock64: 8,
  /** Odd while a change of membership runs (under the lock). */
  membership: 20,
  pubState: 32,
  pubPid: 33,
  /** f64 at byte 136 (Float64Array index 17). */
  pubStart64: 17,
  pubWaiting: 36,
  pubCpu: 37,
  published: 48,
  historyCount: 49,
  historyNext: 50,
  /** 1 while the publisher runs a publish step without the lock. */
  publishing: 51,
} as const;

/** Int32 word offsets inside a slot. */
export const SLOT = {
  state: 0,
  pid: 1,
  start64: 1,
  generation: 4,
  missed: 5,
  cpu: 6,
  head: 16,
  waiting: 17,
  tail: 32,
  /** The first of the `borrows` words naming the samples the subscriber holds (index + 1; 0 = none). */
  held: 33,
} as const;
/** Int32 word offsets inside a queue entry. */
export const ENTRY = { stamp: 0, index: 1, length: 2, seq: 3 } as const;
/** Int32 word offsets inside a sample record. */
export const REC = { flags: 0, length: 1, seq: 2 } as const;

/** Sample flags. */
export const FLAG_LOANED = 1;
export const FLAG_HISTORY = 2;
/** Publisher states. */
export const PUB_LIVE = 1;
export const PUB_CLOSED = 2;

/** What happens when a subscriber's queue is full. */
export type PubSubPolicy = "block" | "drop-oldest";
const POLICIES: readonly PubSubPolicy[] = ["block", "drop-oldest"];

/** The parameters fixed at creation. */
export interface PubSubParams {
  /** Subscriber slots. */
  readonly subscribers: number;
  /** Queue depth per subscriber. */
  readonly depth: number;
  /** Samples kept for late subscribers. */
  readonly history: number;
  /** Loans the publisher may hold at once. */
  readonly loans: number;
  /** Samples one subscriber may hold at once. */
  readonly borrows: number;
  /** What a full queue does. */
  readonly policy: PubSubPolicy;
  /** Bytes of one sample. */
  readonly sampleSize: number;
}

/** The parameters and every offset they give (bytes from the layout's start). */
export interface PubSubLayout extends PubSubParams {
  readonly samples: number;
  /** Bytes of one subscriber slot: 128, then a line with tail and the held words. */
  readonly slotBytes: number;
  readonly stride: number;
  readonly queuesOffset: number;
  readonly recordsOffset: number;
  readonly historyOffset: number;
  readonly payloadOffset: number;
  /** Bytes from the layout's start to the end of the last sample. */
  readonly bytes: number;
}

/** Inclusive ranges of the parameters. */
export const LIMITS = {
  subscribers: [1, 64],
  depth: [1, 4096],
  history: [0, 4096],
  loans: [1, 64],
  borrows: [1, 64],
  sampleSize: [1, 2 ** 31 - 1],
} as const;

const up64 = (n: number) => Math.ceil(n / 64) * 64;

/** Pool size: every sample that can be queued, held, kept for history or loaned at once. */
export function poolSize(p: Pick<PubSubParams, "subscribers" | "depth" | "borrows" | "history" | "loans">): number {
  return p.subscribers * (p.depth + p.borrows) + p.history + p.loans;
}

/** Bytes of one subscriber slot for `borrows` held words. */
export function slotBytes(borrows: number): number {
  return 128 + up64(4 + 4 * borrows);
}

/** Every offset, from parameters already checked. */
export function computeLayout(p: PubSubParams): PubSubLayout {
  const samples = poolSize(p);
  const stride = up64(p.sampleSize);
  const slot = slotBytes(p.borrows);
  const queuesOffset = CONTROL_BYTES + slot * p.subscribers;
  const recordsOffset = up64(queuesOffset + ENTRY_BYTES * p.depth * p.subscribers);
  const historyOffset = up64(recordsOffset + RECORD_BYTES * samples);
  const payloadOffset = up64(historyOffset + 4 * p.history);
  const bytes = payloadOffset + stride * samples;
  return { ...p, samples, slotBytes: slot, stride, queuesOffset, recordsOffset, historyOffset, payloadOffset, bytes };
}

/** The error for a service whose shared memory no publisher could have written. */
export function invalid(what: string): ShmError {
  return new ShmError({
    code: "ERR_SERVICE_INVALID",
    errno: 0,
    message: `The publish-subscribe service's shared memory is not valid: ${what}`,
    hint: "Something other than shmem wrote over it; close every port and create the service again",
  });
}

/** The fields a reader recomputes from the parameters and compares. */
const DERIVED = ["samples", "stride", "queuesOffset", "recordsOffset", "historyOffset", "payloadOffset"] as const;
const PARAMS = ["subscribers", "depth", "history", "loans", "borrows", "sampleSize"] as const;

/** Writes the parameters and offsets into the control area (a fresh, zeroed layout). */
export function writeLayout(words: Int32Array, l: PubSubLayout): void {
  for (const name of [...PARAMS, ...DERIVED]) words[C[name]] = l[name];
  words[C.policy] = POLICIES.indexOf(l.policy);
}

function field(words: Int32Array, index: number, name: keyof typeof LIMITS): number {
  const value = words[index] >>> 0;
  const [min, max] = LIMITS[name];
  if (value < min || value > max) throw invalid(`${name} ${value} is outside ${min}..${max}`);
  return value;
}

/**
 * Reads and checks the layout of a service whose header is `header`, from
 * `control` (the control area's words). Every offset is recomputed from the
 * parameters and compared, and the total checked against the header.
 *
 * @throws {ShmError} `ERR_SERVICE_INVALID` on any mismatch.
 */
export function readLayout(control: Int32Array, header: ServiceHeader): PubSubLayout {
  if (header.version !== PUBSUB_VERSION) {
    throw invalid(`layout version ${header.version}; this shmem reads version ${PUBSUB_VERSION}`);
  }
  const depth = field(control, C.depth, "depth");
  const history = field(control, C.history, "history");
  if (history > depth) throw invalid(`history ${history} is more than the depth ${depth}`);
  const policy = POLICIES[control[C.policy]];
  if (policy === undefined) throw invalid(`unknown policy ${control[C.policy]}`);
  const l = computeLayout({
    subscribers: field(control, C.subscribers, "subscribers"),
    depth,
    history,
    loans: field(control, C.loans, "loans"),
    borrows: field(control, C.borrows, "borrows"),
    policy,
    sampleSize: field(control, C.sampleSize, "sampleSize"),
  });
  for (const name of DERIVED) {
    const value = control[C[name]] >>> 0;
    if (value !== l[name]) throw invalid(`${name} is ${value}, the parameters give ${l[name]}`);
  }
  if (header.layoutOffset + l.bytes !== header.totalBytes) {
    throw invalid(`the layout needs ${header.layoutOffset + l.bytes} bytes, the header says ${header.totalBytes}`);
  }
  return l;
}
