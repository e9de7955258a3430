/**
 * Wide strings: what a `...W` function of the Win32 API takes for a name or
 * a path.
 *
 * @module
 */
import type { Namespace } from "../platform/contracts.ts";

/** `text` as NUL-terminated UTF-16 (forward slashes work as separators in Win32 paths). */
export function wide(text: string): Uint16Array {
  const out = new Uint16Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** `Local\<name>` or `Global\<name>`, as NUL-terminated UTF-16: the kernel object name of a mapping. */
export function objectName(name: string, namespace: Namespace): Uint16Array {
  return wide(`${namespace === "global" ? "Global" : "Local"}\\${name}`);
}
