// Forced garbage collection for the GC-backstop children: Bun.gc, or the gc()
// that --expose-gc (Node) and --v8-flags=--expose-gc (Deno) provide.
const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };

/** Runs `rounds` collections, `pauseMs` apart, so finalizers get their turn. */
export async function forceGc(rounds: number, pauseMs: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    new Array(10000).fill(0).map((x, j) => ({ x, j })); // churn, so no stale stack slot keeps an object
    if (g.Bun) g.Bun.gc(true);
    else g.gc!();
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
