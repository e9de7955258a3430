// Worker for backstop.ts: keeps the buffer it is sent and answers "read" with its first byte.
let held: Uint8Array | undefined;
const answer = (data: unknown, post: (v: unknown) => void) => {
  if (data instanceof ArrayBuffer) {
    held = new Uint8Array(data);
    post(held[0]);
  } else post(held![0]);
};
const { parentPort } = await import("node:worker_threads");
if (parentPort) parentPort.on("message", (d) => answer(d, (v) => parentPort.postMessage(v)));
else {
  const self = globalThis as unknown as { onmessage: (e: MessageEvent) => void; postMessage(v: unknown): void };
  self.onmessage = (e) => answer(e.data, (v) => self.postMessage(v));
}
