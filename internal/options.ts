/**
 * Checks of user options and arguments shared by every public entry point:
 * each throws a TypeError for a wrong type and a RangeError for a value out
 * of range, quoting the value safely, before any system call.
 *
 * The rule for an options object: it is `undefined` or an object (not null,
 * an array or a function); every string key it has — own, also
 * non-enumerable, or inherited enumerable — must be one of the entry point's
 * options, or a TypeError names the key and the closest known one; symbol
 * keys are ignored. Each known option is read exactly once (inherited values
 * count, as in any JavaScript options bag) into a plain record that the
 * checks then use, so a getter cannot pass a check and then return another
 * value.
 *
 * @module
 */

/** The set of an entry point's option names, written as a record so that the compiler checks it is complete. */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** What {@link readOptions} returns: each option read once, `undefined` when absent. */
export type ReadOptions<T> = { [K in keyof Required<T>]: unknown };

/**
 * Reads an options object once into a plain record, rejecting anything that
 * is not an object and every unknown key (see the module notes). `what`
 * names the entry point in messages (`"Segment.open"`).
 */
export function readOptions<T>(options: unknown, what: string, known: OptionKeys<T>): ReadOptions<T> {
  const names = Object.keys(known);
  const record = Object.create(null) as Record<string, unknown>;
  if (options === undefined) {
    for (const name of names) record[name] = undefined;
    return record as ReadOptions<T>;
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${what} options must be an object, got ${describe(options)}`);
  }
  for (const key of keysOf(options)) {
    if (!Object.hasOwn(known, key)) throw unknownOption(key, what, names);
  }
  const source = options as Record<string, unknown>;
  for (const name of names) record[name] = source[name];
  return record as ReadOptions<T>;
}

/** Every string key of `object`: own (enumerable or not), then inherited enumerable ones. */
function keysOf(object: object): string[] {
  const keys = Object.getOwnPropertyNames(object);
  for (const key in object) if (!keys.includes(key)) keys.push(key);
  return keys;
}

function unknownOption(key: string, what: string, names: readonly string[]): TypeError {
  const hint = closest(key, names);
  if (hint !== undefined) return new TypeError(`Unknown option ${quoteKey(key)} for ${what}: did you mean '${hint}'?`);
  const list = names.length === 0 ? "it takes none" : `it takes ${names.map((n) => `'${n}'`).join(", ")}`;
  return new TypeError(`Unknown option ${quoteKey(key)} for ${what}: ${list}`);
}

function quoteKey(key: string): string {
  return /^[\w$]{1,64}$/.test(key) ? `'${key}'` : describe(key);
}

/** The known name `key` most likely misspells: the same ignoring case, or a few edits away. */
function closest(key: string, names: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const target = name.toLowerCase();
    const distance = target === lower ? 0 : editDistance(lower, target);
    const allowed = Math.max(1, Math.floor(name.length / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return Infinity;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

/**
 * Describes any value for an error message without ever throwing and
 * without calling the value's own methods: strings quoted (and cut at 60
 * characters), `-0`, `1n`, `Symbol(x)`, `null`, `an array of length 3`,
 * `a Uint8Array of length 4`, `an object with a null prototype`, `a Map`, ...
 */
export function describe(value: unknown): string {
  try {
    switch (typeof value) {
      case "string":
        return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
      case "number":
        return Object.is(value, -0) ? "-0" : String(value);
      case "bigint":
        return `${value}n`;
      case "symbol":
        return String(value);
      case "undefined":
      case "boolean":
        return String(value);
      case "function": {
        const name = Object.getOwnPropertyDescriptor(value, "name")?.value;
        return typeof name === "string" && name !== "" ? `the function ${name}` : "a function";
      }
    }
    if (value === null) return "null";
    if (Array.isArray(value)) return `an array of length ${(value as unknown[]).length}`;
    const proto = Object.getPrototypeOf(value);
    if (proto === null) return "an object with a null prototype";
    const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
    const name = typeof ctor === "function" ? Object.getOwnPropertyDescriptor(ctor, "name")?.value : undefined;
    if (typeof name !== "string" || name === "" || name === "Object") return "an object";
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return `${article(name)} ${name} of length ${(value as Uint8Array).length}`;
    }
    return `${article(name)} ${name}`;
  } catch {
    return "an object";
  }
}

function article(word: string): string {
  return /^[AEIO]/i.test(word) ? "an" : "a"; // "a Uint8Array", "an Int32Array"
}

/** `n`, with `-0` turned into `0` (Deno's FFI rejects `-0` for integer parameters). */
export function integer(n: number): number {
  return n === 0 ? 0 : n;
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
    throw new RangeError(`${what} must be a positive integer, got ${describe(size)}`);
  }
  if (size > max) {
    throw new RangeError(`${what} ${size} is more than this platform can map (at most ${max} bytes)`);
  }
  return size;
}

/** Permission bits from 0 to 0o777 (`-0` is 0), or `fallback` when omitted. */
export function checkMode(mode: unknown, fallback: number): number {
  if (mode === undefined) return fallback;
  if (typeof mode !== "number") throw new TypeError(`Option 'mode' must be a number, got ${typeof mode}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new RangeError(`Option 'mode' must be permission bits from 0 to 0o777, got ${describe(mode)}`);
  }
  return integer(mode);
}

/**
 * Timeouts longer than this many milliseconds (about 285,000 years) wait
 * forever: no system takes such a deadline (Linux's futex rejects seconds
 * past 2^63 with EINVAL), and no program can tell the difference.
 */
export const FOREVER_MS: number = Number.MAX_SAFE_INTEGER;

/**
 * A timeout in milliseconds: 0 or more, or Infinity; `Infinity` when omitted.
 * One above {@link FOREVER_MS} is Infinity, `-0` is 0. `what` names it in messages.
 */
export function checkTimeout(timeoutMs: unknown, what = "Timeout"): number {
  if (timeoutMs === undefined) return Infinity;
  if (typeof timeoutMs !== "number") {
    throw new TypeError(`${what} must be a number of milliseconds, got ${typeof timeoutMs}`);
  }
  if (Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`${what} must be 0 or more milliseconds (or Infinity), got ${describe(timeoutMs)}`);
  }
  return timeoutMs > FOREVER_MS ? Infinity : integer(timeoutMs);
}
