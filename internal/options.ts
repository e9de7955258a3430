/**
 * Checks of user options shared by the kinds of mapped memory: each throws a
 * TypeError for a wrong type and a RangeError for a value out of range,
 * quoting the value, before any system call.
 *
 * @module
 */

/** The options object, or `{}` when omitted. */
export function checkOptions(options: unknown, what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${what} options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  return options as Record<string, unknown>;
}

/** A boolean option, or `fallback` when omitted. */
export function checkBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`Option '${name}' must be a boolean, got ${typeof value}`);
  return value;
}

/** A size in bytes: a positive safe integer of at most `max`. */
export function checkSize(size: unknown, max: number, what = "Size"): number {
  if (typeof size !== "number") {
    throw new TypeError(`${what} must be a number of bytes, got ${size === undefined ? "nothing" : typeof size}`);
  }
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new RangeError(`${what} must be a positive integer, got ${size}`);
  }
  if (size > max) {
    throw new RangeError(`${what} ${size} is more than this platform can map (at most ${max} bytes)`);
  }
  return size;
}

/** Permission bits from 0 to 0o777, or `fallback` when omitted. */
export function checkMode(mode: unknown, fallback: number): number {
  if (mode === undefined) return fallback;
  if (typeof mode !== "number") throw new TypeError(`Option 'mode' must be a number, got ${typeof mode}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new RangeError(`Option 'mode' must be permission bits from 0 to 0o777, got ${mode}`);
  }
  return mode;
}

/** A timeout in milliseconds: 0 or more, or Infinity; `Infinity` when omitted. `what` names it in messages. */
export function checkTimeout(timeoutMs: unknown, what = "Timeout"): number {
  if (timeoutMs === undefined) return Infinity;
  if (typeof timeoutMs !== "number") {
    throw new TypeError(`${what} must be a number of milliseconds, got ${typeof timeoutMs}`);
  }
  if (Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`${what} must be 0 or more milliseconds (or Infinity), got ${timeoutMs}`);
  }
  return timeoutMs;
}
