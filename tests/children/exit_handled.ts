// Child: a program that handles its own uncaught errors and rejections keeps an unlinkOnExit
// name while it runs; it goes at the normal exit. Prints "kept error:true rejection:true".
// Usage: exit_handled.ts <name>
import { existsSync } from "node:fs";
import { Segment } from "../../mod.ts";

const [name] = process.argv.slice(2);
const seg = Segment.create(name, { size: 4096, unlinkOnExit: true });
seg.bytes()[0] = 1;
const seen: string[] = [];
if ("Deno" in globalThis) {
  // Registered after shmem's own listeners: the program decides, not shmem.
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    seen.push("error");
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    seen.push("rejection");
  });
} else {
  process.on("uncaughtException", () => void seen.push("error"));
  process.on("unhandledRejection", () => void seen.push("rejection"));
}
setTimeout(() => {
  throw new Error("handled by the program");
}, 0);
setTimeout(() => void Promise.reject(new Error("handled too")), 20);
const nap = (ms: number) => new Promise((r) => setTimeout(r, ms));
await nap(200);
const afterError = existsSync(`/dev/shm/${name}`);
await nap(50);
console.log(`kept error:${afterError} rejection:${existsSync(`/dev/shm/${name}`)} seen:${seen.join(",")}`);
