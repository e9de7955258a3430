// Child for Deno without --allow-ffi: the error must say what to add.
import { Segment } from "../../mod.ts";

try {
  Segment.create("never", { size: 4096 });
  console.log("created?!");
} catch (e) {
  console.log((e as Error).message);
}
