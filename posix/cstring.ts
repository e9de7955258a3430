/**
 * C strings: what a libc call takes for a path or a name, and what it gives
 * back in a buffer.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `text` as a NUL-terminated UTF-8 C string. */
export function cString(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}

/** The C string `/<name>` that `shm_open` and `shm_unlink` take for the portable `name`. */
export function shmName(name: string): Uint8Array {
  return cString(`/${name}`);
}

/** The UTF-8 text of `bytes` up to its first NUL (all of it when there is none). */
export function fromCString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}
