// Child: worker threads that hold open memory of every kind (never closed)
// end; once the GC has run and this thread made another call, the process
// holds no descriptor and no mapping more than before (Deno and Bun keep a
// terminated thread's mappings). Prints one JSON line {fds, maps} of what is left.
// Usage: worker_terminate.ts <name> <path.worker_terminate> <web|node> <terminate|exit|end> [rounds]
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { Segment } from "../../mod.ts";
import { forceGc } from "./force_gc.ts";

const [name, path, flavour, how, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 3);
const url = new URL("./worker_hold.ts", import.meta.url);
const ours = /\/dev\/shm\/|SYSV|memfd:shmem|\.worker_terminate/;
const link = (fd: string) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return "";
  }
};
const fds = () => readdirSync("/proc/self/fd").filter((fd) => ours.test(link(fd))).length;
const maps = () => readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => ours.test(l)).length;

async function once(): Promise<void> {
  const data = { name, path, how };
  if (flavour === "web") {
    const worker = new Worker(url.href, { type: "module" });
    const ready = new Promise((resolve) => (worker.onmessage = resolve));
    worker.postMessage(data);
    await ready;
    if (how === "terminate") worker.terminate();
    else await new Promise((resolve) => setTimeout(resolve, 300));
  } else {
    const { Worker: NodeWorker } = await import("node:worker_threads");
    const worker = new NodeWorker(url, { workerData: data });
    const ended = new Promise((resolve) => worker.once("exit", resolve));
    await new Promise((resolve) => worker.once("message", resolve));
    if (how === "terminate") await worker.terminate();
    await ended;
  }
}

const seg = Segment.create(name, { size: 1 << 16 });
writeFileSync(path, new Uint8Array(1 << 16));
try {
  const [fd0, map0] = [fds(), maps()];
  await once(); // warms up the runtime's own worker machinery (it holds none of our memory)
  await forceGc(10, 20);
  for (let i = 0; i < rounds; i++) await once();
  let left = { fds: 0, maps: 0 };
  for (let i = 0; i < 25; i++) {
    await forceGc(2, 20);
    Segment.open(name).close(); // this thread's next call releases what terminated threads left
    left = { fds: fds() - fd0, maps: maps() - map0 };
    if (left.fds <= 0 && left.maps <= 0) break;
  }
  console.log(JSON.stringify(left));
} finally {
  seg.close();
  Segment.unlink(name);
  rmSync(path, { force: true });
}
