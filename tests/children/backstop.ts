// Child: the GC backstop of a never-closed mapping whose buffer was moved away
// (transfer(), structuredClone with transfer, or a worker postMessage transfer)
// keeps the memory mapped, so the moved buffer stays readable. Prints "ok 7".
// Usage: backstop.ts <segment|anon|sysv|file|region> <transfer|clone|worker> <name>
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnonymousSegment, MappedFile, type MappedMemory, Segment, SysvSegment } from "../../mod.ts";
import { forceGc } from "./force_gc.ts";

const [kind, how, name] = process.argv.slice(2);
const collect = () => forceGc(10, 10);

const path = join(tmpdir(), name);
function open(): MappedMemory {
  switch (kind) {
    case "segment":
    case "region": {
      const seg = Segment.create(name, { size: 1 << 16 });
      seg.unlink();
      return seg;
    }
    case "anon":
      return AnonymousSegment.create({ size: 1 << 16 });
    case "sysv": {
      const seg = SysvSegment.create({ size: 1 << 16 });
      seg.remove();
      return seg;
    }
    case "file": {
      const file = MappedFile.open(path, { create: true, size: 1 << 16 });
      rmSync(path);
      return file;
    }
  }
  throw new Error(`unknown kind ${kind}`);
}

interface Reader {
  read(): Promise<number>;
  stop(): void;
}

async function moveAway(buffer: ArrayBuffer): Promise<Reader> {
  if (how === "transfer") {
    const moved = buffer.transfer();
    return { read: () => Promise.resolve(new Uint8Array(moved)[0]), stop() {} };
  }
  if (how === "clone") {
    const moved = structuredClone(buffer, { transfer: [buffer] });
    return { read: () => Promise.resolve(new Uint8Array(moved)[0]), stop() {} };
  }
  const url = new URL("./backstop_worker.ts", import.meta.url);
  const WebWorker = (globalThis as { Worker?: typeof Worker }).Worker;
  if (WebWorker !== undefined) {
    const worker = new WebWorker(url.href, { type: "module" });
    const reply = () => new Promise<number>((resolve) => (worker.onmessage = (e) => resolve(e.data as number)));
    const ready = reply();
    worker.postMessage(buffer, [buffer]);
    await ready;
    return {
      read: () => {
        const r = reply();
        worker.postMessage("read");
        return r;
      },
      stop: () => worker.terminate(),
    };
  }
  const { Worker: NodeWorker } = await import("node:worker_threads");
  const worker = new NodeWorker(url);
  const reply = () => new Promise<number>((resolve) => worker.once("message", resolve));
  const ready = reply();
  try {
    worker.postMessage(buffer, [buffer]);
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  await ready;
  return {
    read: () => {
      const r = reply();
      worker.postMessage("read");
      return r;
    },
    stop: () => void worker.terminate(),
  };
}

// Node cannot transfer an external buffer (DataCloneError): then the check is only that nothing crashes.
const reader = await (async () => {
  const memory = open();
  const bytes = kind === "region" ? memory.region(0, 4096).bytes() : memory.bytes();
  bytes[0] = 7;
  try {
    return await moveAway(bytes.buffer as ArrayBuffer);
  } catch (e) {
    if ((e as Error).name !== "DataCloneError") throw e;
    return undefined;
  }
})();
await collect();
if (reader === undefined) console.log("ok unmovable");
else {
  const value = await reader.read();
  reader.stop();
  console.log(`ok ${value}`);
}
