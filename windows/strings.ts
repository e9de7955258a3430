/**
 * Wide strings: what a `...W` function of the Win32 API takes for a name or
 * a path.
 *
 * @module
 */

/** `text` as NUL-terminated UTF-16 (forward slashes work as separators in Win32 paths). */
export function wide(text: string): Uint16Array {
  const out = new Uint16Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
