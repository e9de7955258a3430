/**
 * The one door to the operating system: the table keyed by OS that picks
 * this process's {@link Platform}. Linux and macOS get the POSIX platform,
 * Windows its own, any other system a stub whose every call throws the same
 * `ShmError` `ERR_UNSUPPORTED`. Public classes import only this module (and
 * the contracts' types).
 *
 * @module
 */
import { ShmError } from "../errors.ts";
import { ffi } from "../ffi/mod.ts";
import { posixPlatform } from "../posix/platform.ts";
import { windowsPlatform } from "../windows/platform.ts";
import type { CpuHints, Platform, ProcessProbe, WaitBackend } from "./contracts.ts";

export type * from "./contracts.ts";
export { now } from "../ffi/mod.ts";

/** The platform of each supported OS (`process.platform` spelling), built on first use. */
const PLATFORMS: Readonly<Record<string, () => Platform>> = {
  linux: () => posixPlatform("linux"),
  darwin: () => posixPlatform("darwin"),
  win32: windowsPlatform,
};

/** The error every call of an unsupported OS's platform throws. */
function unsupportedError(os: string): ShmError {
  return new ShmError({
    code: "ERR_UNSUPPORTED",
    errno: 0,
    message: `shmem does not support shared memory on '${os}' (supported: Linux, macOS, Windows)`,
  });
}

/**
 * A platform whose every call throws `ERR_UNSUPPORTED`: no memory can be
 * mapped, so no Region, Mutex or Channel can exist there, and `wait()`, the
 * process probe and the CPU hints refuse alike rather than half-work.
 */
function unsupportedPlatform(os: string): Platform {
  const fail = (): never => {
    throw unsupportedError(os);
  };
  // Limits that refuse nothing, so that a good call reaches its `fail` (ERR_UNSUPPORTED) instead of a
  // RangeError about a size or name no system here could ever have accepted.
  return {
    os,
    named: {
      nameRules: { platform: os, maxUnits: 255, unit: "utf8", prefixUnits: 0, forbidden: [] },
      maxSize: Number.MAX_SAFE_INTEGER,
      persistent: true,
      create: fail,
      open: fail,
      unlink: fail,
    },
    file: { open: fail },
    sysv: { create: fail, attach: fail, idOf: fail, remove: fail, stat: fail, list: fail },
    anonymous: { checkHandle: fail, create: fail, open: fail },
    inventory: { list: fail, inspect: fail, collect: fail },
    holders: { sameObject: fail },
    cpu: { currentCpu: fail, yieldCpu: fail },
    threads: { remember: fail, keepMapped: fail, closing: fail, forget: fail, sweep: fail },
    waitBackend: fail,
    processProbe: fail,
  };
}

/** The platform of `os` (`process.platform` spelling): a fresh object each call (tests use other systems'). */
export function platformFor(os: string): Platform {
  return PLATFORMS[os]?.() ?? unsupportedPlatform(os);
}

let current: Platform | undefined;

/** The platform of this process's OS. */
export function platform(): Platform {
  return current ??= platformFor(ffi.os);
}

let waiting: WaitBackend | undefined;

/** This OS's wait backend, built once: what `wait()`, Channel and Mutex sleep through. */
export function waitBackend(): WaitBackend {
  return waiting ??= platform().waitBackend();
}

let probe: ProcessProbe | undefined;

/** This OS's process probe, built once. */
export function processProbe(): ProcessProbe {
  return probe ??= platform().processProbe();
}

let hints: CpuHints | undefined;

/** The CPU this thread runs on now, or -1 where the system cannot tell (a hint only). */
export function currentCpu(): number {
  return (hints ??= platform().cpu).currentCpu();
}

/** Gives this CPU to another runnable thread; false, without yielding, where the system cannot. */
export function yieldCpu(): boolean {
  return (hints ??= platform().cpu).yieldCpu();
}
