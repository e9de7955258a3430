// Where the many-objects wait tests put things in their one segment (shared by the test and its child).
import { Mutex } from "../../mod.ts";

/** A 4 KiB header, then `n` Mutexes, then `n` channels of the smallest size (a 192-byte header and 64 bytes of ring). */
export function objectsLayout(n: number) {
  const channelBytes = 256;
  const channels = 4096 + Math.ceil((n * Mutex.BYTES) / 8) * 8;
  return {
    channelBytes,
    size: channels + n * channelBytes,
    mutex: (i: number) => 4096 + i * Mutex.BYTES,
    channel: (i: number) => channels + i * channelBytes,
    /** Message `i`: its index as a little-endian int32. */
    message(i: number): Uint8Array {
      const m = new Uint8Array(4);
      new DataView(m.buffer).setInt32(0, i, true);
      return m;
    },
  };
}
