// Child: the fuzzer's ledger tells a leaked mapping from one the documented
// rules keep. A pinned memory dropped unclosed stays mapped (not a leak); a
// System V read-only open whose buffer moved away shows no mapping of the
// segment (its bytes are a private copy); a memory dropped unclosed after
// unsafeAddress() that the ledger was not told about is reported as leaked
// (the control). Prints the leaks as JSON. Usage: fuzz_ledger.ts <prefix>
import { Segment, SysvSegment } from "../../mod.ts";
import { Ledger } from "../fuzz/ledger.ts";
import { forceGc } from "./force_gc.ts";

const prefix = process.argv[2];
const ledger = new Ledger(prefix);
const moved: ArrayBuffer[] = [];
let sysvId = 0;
(() => {
  const pinned = ledger.track(() => Segment.create(`${prefix}_pinned`, { size: 4096 }), () => "pinned");
  pinned.value.unlink();
  pinned.value.pin().release();
  pinned.fate.pinned = true;
  pinned.fate.droppedOpen = true; // and dropped here, unclosed

  const sysv = SysvSegment.create({ size: 4096 });
  sysvId = sysv.id;
  const copy = ledger.track(() => SysvSegment.open(sysv.id, { readOnly: true }), () => "sysv copy");
  moved.push((copy.value.bytes().buffer as ArrayBuffer).transfer());
  copy.fate.moved = true;
  copy.value.close();
  sysv.close();

  const control = ledger.track(() => Segment.create(`${prefix}_control`, { size: 4096 }), () => "control");
  control.value.unlink();
  control.value.unsafeAddress(); // the backstop keeps it, and the ledger does not know why
})();
await forceGc(10, 10);
SysvSegment.remove(sysvId);
const leaked = ledger.leakedMaps();
console.log(JSON.stringify({ ...ledger.leaks(), opened: leaked.map((l) => l.fate?.opened) }));
