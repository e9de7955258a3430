// Child: the owner of a service, or one of several processes racing to take a dead owner's name over.
// Usage: takeover.ts <rr|ps> <op> <name> [startAt]
//   own             serve (rr) or publish (ps) the name, print ready, then wait to be killed
//   race <startAt>  wait until Date.now() >= startAt, then try to serve or publish the name; print one JSON line,
//                   {"won":true} or {"code":...,"message":...}; keep what it made for 1.5 s, then close it
import { Publisher, RequestServer, ShmError } from "../../mod.ts";

const [kind, op, name, startAt] = process.argv.slice(2);
const make = () =>
  kind === "rr"
    ? RequestServer.serve(name, { clients: 1, requestSize: 8 })
    : Publisher.create(name, { sampleSize: 8, subscribers: 1 });

if (op === "own") {
  make();
  console.log("ready");
  await new Promise((r) => setTimeout(r, 60_000));
} else if (op === "race") {
  while (Date.now() < Number(startAt)); // every racer leaves this loop within a millisecond of the others
  let made: { close(): void } | undefined;
  try {
    made = make();
    console.log(JSON.stringify({ won: true }));
  } catch (error) {
    const code = error instanceof ShmError ? error.code : String(error);
    console.log(JSON.stringify({ code, message: (error as Error).message }));
  }
  await new Promise((r) => setTimeout(r, 1500));
  made?.close();
} else {
  throw new Error(`unknown op ${op}`);
}
