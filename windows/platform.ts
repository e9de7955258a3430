/**
 * The Windows platform: named mappings, mapped files, polling waits and the
 * process probe. System V and anonymous memory do not exist here, and named
 * mappings cannot leak (they vanish with their last handle), so there is
 * nothing to list or collect.
 *
 * @module
 */
import type { Platform } from "../platform/contracts.ts";
import { unsupportedError } from "../errors.ts";
import { windowsFileBackend } from "./file.ts";
import { windowsNamedBackend } from "./mapping.ts";
import { windowsProcessProbe } from "./process.ts";
import { windowsWaitBackend } from "./wait.ts";

const OS = "win32";
const NO_LISTING =
  "Windows has no persistent named shared memory: a named mapping vanishes with its last handle, so nothing can leak and there is nothing to list";

/** A function that throws `ERR_UNSUPPORTED` for `feature`. */
function missing(feature: string, hint = ""): () => never {
  return () => {
    throw unsupportedError(feature, OS, hint);
  };
}

/** The Windows platform. */
export function windowsPlatform(): Platform {
  const sysv = missing("System V shared memory");
  const anonymous = missing(
    "Anonymous shared memory (memfd_create)",
    "create a named Segment: on Windows it vanishes with its last handle",
  );
  return {
    os: OS,
    named: windowsNamedBackend,
    file: windowsFileBackend,
    sysv: { create: sysv, attach: sysv, idOf: sysv, remove: sysv, stat: sysv, list: sysv },
    anonymous: { checkHandle: anonymous, create: anonymous, open: anonymous },
    inventory: {
      list: missing("Listing segments", NO_LISTING),
      inspect: missing("Inspecting segments", NO_LISTING),
      collect: () => [],
    },
    holders: { sameObject: () => () => true },
    cpu: { currentCpu: () => -1, yieldCpu: () => false },
    // Not built for Windows: a terminated worker's handles stay until the process ends.
    threads: { remember: () => -1, keepMapped: () => {}, closing: () => false, forget: () => {}, sweep: () => 0 },
    waitBackend: () => windowsWaitBackend(OS)!,
    processProbe: windowsProcessProbe,
  };
}
