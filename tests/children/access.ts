// Child, run as another user: prints the message of a read-write open, a read-only open and an unlink
// of a segment it may not access, one JSON line each: {what, code, message}.
import { Segment } from "../../mod.ts";

const [name] = process.argv.slice(2);
const attempts: [string, () => void][] = [
  ["read-write open", () => Segment.open(name).close()],
  ["read-only open", () => Segment.open(name, { readOnly: true }).close()],
  ["unlink", () => Segment.unlink(name)],
];
for (const [what, attempt] of attempts) {
  try {
    attempt();
    console.log(JSON.stringify({ what, code: "done", message: "" }));
  } catch (e) {
    console.log(JSON.stringify({ what, code: (e as { code?: string }).code, message: (e as Error).message }));
  }
}
