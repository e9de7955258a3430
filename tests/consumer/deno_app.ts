// Deno, with --allow-ffi only: sync and async calls through the shmem module
// that the entry file imported (from a URL standing in for JSR, or a path).
import type * as Shmem from "../../mod.ts";

export async function main(shmem: typeof Shmem): Promise<void> {
  const { Channel, notify, Segment, uniqueName, waitAsync } = shmem;
  const name = uniqueName("cons_");
  const seg = Segment.create(name, { size: 1 << 16 });
  try {
    const words = seg.region(0, 64).array(Int32Array);
    const woken = waitAsync(words, 0, 0, 20_000);
    setTimeout(() => {
      Atomics.store(words, 0, 1);
      notify(words, 0);
    }, 20);
    if ((await woken) !== "ok") throw new Error("waitAsync was not woken");
    const tx = Channel.create(seg.region(4096));
    const rx = Channel.open(seg.region(4096));
    const pending = rx.recvAsync(20_000);
    setTimeout(() => tx.send(new TextEncoder().encode("hi")), 20);
    const got = await pending;
    if (got === null || new TextDecoder().decode(got) !== "hi") throw new Error("recvAsync failed");
    tx.close();
    rx.close();
    console.log("ok");
  } finally {
    seg.close();
    Segment.unlink(name);
  }
}
