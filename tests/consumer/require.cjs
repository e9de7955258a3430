// CommonJS: require("shmem") on Node >= 22.12 (no top-level await in the graph).
const { Segment, uniqueName } = require("shmem");
const name = uniqueName("cons_");
const seg = Segment.create(name, { size: 4096 });
seg.bytes()[0] = 7;
const peer = Segment.open(name, { readOnly: true });
const value = peer.bytes()[0];
peer.close();
seg.close();
Segment.unlink(name);
if (value !== 7) throw new Error(`read ${value}`);
console.log("ok");
