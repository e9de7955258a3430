/**
 * The libc of a POSIX system, or a clear error naming the feature that this
 * operating system lacks.
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { ffi } from "../ffi/mod.ts";
import { posixConstants } from "./constants.ts";
import { libc } from "./libc.ts";
import type { Libc } from "./libc.ts";

const OS_NAMES: Readonly<Record<string, string>> = { win32: "Windows", darwin: "macOS", linux: "Linux" };

/** The name users know `os` by (`Windows`, `macOS`, ...). */
export function osName(os: string): string {
  return OS_NAMES[os] ?? os;
}

/** The error for `feature` missing on this OS. */
export function unsupported(feature: string, hint = ""): ShmError {
  return new ShmError({
    code: "ERR_UNSUPPORTED",
    errno: 0,
    message: `${feature} is not supported on ${osName(ffi.os)}${hint ? `: ${hint}` : ""}`,
  });
}

/** libc, or an `ERR_UNSUPPORTED` ShmError naming `feature` when this OS is not POSIX. */
export function requireLibc(feature: string): Libc {
  if (!posixConstants(ffi.os)) throw unsupported(feature);
  return libc();
}
