// Worker for worker_terminate.ts: opens every kind of memory (and a Region,
// Mutex and Channel over it), never closes any, and says "ready". Then, as
// told by its data: "terminate" waits to be terminated, "exit" calls
// process.exit(0), "end" lets the thread end by itself.
import process from "node:process";
import { AnonymousSegment, Channel, MappedFile, Mutex, Segment, SysvSegment } from "../../mod.ts";

interface Data {
  name: string;
  path: string;
  how: string;
}

const held: unknown[] = [];
function openAll({ name, path }: Data): void {
  const seg = Segment.open(name);
  const region = seg.region(4096, 4096);
  held.push(seg, region, region.bytes(), Mutex.init(seg.region(0, Mutex.BYTES)));
  const ring = Segment.open(name);
  held.push(Channel.create(ring.region(8192)), ring);
  const anon = AnonymousSegment.create({ size: 1 << 16 });
  const sysv = SysvSegment.create({ size: 1 << 16 });
  sysv.remove();
  held.push(anon, anon.bytes(), sysv, sysv.region(0, 64).array(Int32Array), MappedFile.open(path));
}

function then(data: Data, close: () => void): void {
  if (data.how === "exit") setTimeout(() => process.exit(0), 10);
  if (data.how === "end") close(); // a node:worker_threads worker with nothing left to do ends by itself
}

const { parentPort, workerData } = await import("node:worker_threads");
if (parentPort && workerData) {
  openAll(workerData);
  parentPort.postMessage("ready");
  then(workerData, () => {});
} else {
  const self = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(v: unknown): void;
    close(): void;
  };
  self.onmessage = (e) => {
    openAll(e.data);
    self.postMessage("ready");
    then(e.data, () => self.close());
  };
}
