// Type-checked with tsc --strict --module nodenext against the package's .d.ts only.
import { Channel, Mutex, Segment, ShmError, uniqueName, waitAsync } from "shmem";
import type { WaitResult } from "shmem";

const seg: Segment = Segment.create(uniqueName(), { size: 4096, mode: 0o600 });
const bytes: Uint8Array = seg.bytes();
const result: Promise<WaitResult> = waitAsync(seg.region(0, 4), 0, 0, 10);
const mutex: Mutex = Mutex.init(seg.region(64, Mutex.BYTES));
const channel: Channel = Channel.create(seg.region(1024));
const code: string | undefined = new Error() instanceof ShmError ? "x" : undefined;
// @ts-expect-error: an unknown option is a type error as well as a runtime TypeError
Segment.open("x", { readonly: true });
void [bytes, result, mutex, channel, code];
