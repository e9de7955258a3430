// The Windows suite's kernel wake-ups (imported by suite.ts): a waiter in one
// runtime sleeps in `wait` and in many `waitAsync` calls, and a notifier in
// another wakes each with `notify` alone (the words never change), counting
// whom it woke. See tests/windows/wake.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { uniqueName } from "../../mod.ts";
import { ok, runWin, skip } from "./wine.ts";
import type { WinRuntime } from "./wine.ts";

// Every runtime waits once and notifies once, always with another runtime.
// 100 async waits fit in the kernel groups of every runtime (Node: 2 calls × 63 words).
const WAKE_PAIRS: [WinRuntime, WinRuntime][] = [["deno", "bun"], ["bun", "node"], ["node", "node22"], [
  "node22",
  "deno",
]];
const ASYNC_WAITS = 100;
for (const [waiter, notifier] of WAKE_PAIRS) {
  test(`Windows ${notifier} wakes ${waiter}'s wait and ${ASYNC_WAITS} waitAsync calls with notify alone`, {
    skip,
  }, async () => {
    const name = uniqueName("shmw_");
    const args = [name, String(ASYNC_WAITS)];
    const [w, n] = await Promise.all([
      runWin(waiter, "wake.ts", ["waiter", ...args]),
      runWin(notifier, "wake.ts", ["notifier", ...args]),
    ]);
    const ns = ok(n, `notifier (${notifier})`);
    const ws = ok(w, `waiter (${waiter})`);
    // notify returned 1 for the blocking waiter and for each async one, once it was counted.
    assert.equal(ns.syncWoken, 1);
    assert.equal(ns.asyncWokenOnce, true);
    assert.equal(ns.total, 1 + ASYNC_WAITS);
    // A second notify finds nobody, or the waiter still on its way out (counted until it leaves).
    assert.ok([0, 1].includes(ns.again as number), `again: ${ns.again}`);
    // The polling design only changes the word: it reports 0, and the kernel waiter still wakes.
    assert.equal(ns.pollingNotify, 0);
    assert.deepEqual(ws, {
      syncResult: "ok",
      syncWord: 0,
      asyncResults: { ok: ASYNC_WAITS },
      polledResult: "ok",
      // 1,000 pending at once, most of them polled: all settle once their word changes.
      many: { ok: 1000 },
      notifierTotal: 1 + ASYNC_WAITS,
      syncTimeout: "timed-out",
      syncNotEarly: true,
      asyncTimeout: "timed-out",
      asyncNotEarly: true,
      closed: ["ERR_USE_AFTER_CLOSE", "ERR_USE_AFTER_CLOSE", "ERR_USE_AFTER_CLOSE"],
    });
  });
}
