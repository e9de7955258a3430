// The timing loop of the ping-pong benchmarks (side "a"): warm up, then time batches of round trips, and print
// { samples } as one JSON line: microseconds per round trip, one sample per batch.

/** Round trips per sample. */
export const BATCH = 32;
/** Samples printed. */
export const SAMPLES = 300;
/**
 * Warm-up: at least this many round trips and at least this long, ending on a multiple of 1,024 (the engines
 * compile the hot paths fully only after many calls; with 1,000 round trips publish-subscribe measured up to 3×
 * slower than after this warm-up).
 */
const WARMUP = 2000;
const WARMUP_MS = 300;

const now = () => performance.now();

/** Runs `rtt` (one round trip; awaited only when it returns a promise), then prints the samples. */
export async function pingLoop(rtt: (i: number) => void | Promise<void>): Promise<void> {
  let i = 1;
  const end = now() + WARMUP_MS;
  for (; i <= WARMUP || (i & 1023) !== 0 || now() < end; i++) {
    const pending = rtt(i);
    if (pending) await pending;
  }
  const samples: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = now();
    for (let k = 0; k < BATCH; k++, i++) {
      const pending = rtt(i);
      if (pending) await pending;
    }
    samples.push(((now() - t0) * 1000) / BATCH);
  }
  console.log(JSON.stringify({ samples }));
}
