// Child: opening a FIFO planted under a segment name or file path fails at once, never blocks.
// Usage: fifo.ts <segment-name> <file-path>; prints one JSON line per open: {what, code}.
import { MappedFile, Segment } from "../../mod.ts";

const [name, path] = process.argv.slice(2);
const attempts: [string, () => { close(): void }][] = [
  ["segment read-only", () => Segment.open(name, { readOnly: true })],
  ["segment private", () => Segment.open(name, { private: true })],
  ["segment read-write", () => Segment.open(name)],
  ["file read-only", () => MappedFile.open(path, { readOnly: true })],
  ["file read-write", () => MappedFile.open(path)],
  ["file create", () => MappedFile.open(path, { create: true, size: 4096 })],
];
for (const [what, open] of attempts) {
  try {
    open().close();
    console.log(JSON.stringify({ what, code: "opened" }));
  } catch (e) {
    console.log(JSON.stringify({ what, code: (e as { code?: string }).code ?? (e as Error).name }));
  }
}
