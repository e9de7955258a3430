/**
 * The POSIX platform (Linux, macOS): every contract of platform/contracts.ts,
 * made from this directory's mechanism. Which calls an OS makes is read from
 * its constants (constants.ts), never from a test of the OS here.
 *
 * @module
 */
import type { Platform, WaitBackend } from "../platform/contracts.ts";
import { unsupportedError } from "../errors.ts";
import { posixConstants } from "./constants.ts";
import { currentCpu, yieldCpu } from "./cpu.ts";
import { posixFileBackend } from "./file.ts";
import { darwinBackend, linuxBackend } from "./futex.ts";
import { sameObject } from "./identity.ts";
import { collectPosixSegments, inspectPosixSegment, listPosixSegments } from "./inventory.ts";
import { checkHandle, memfdCreate, memfdOpen } from "./memfd.ts";
import { darwinProcessProbe, linuxProcessProbe } from "./process.ts";
import { posixNamedBackend } from "./shm.ts";
import { sysvAttach, sysvCreate, sysvIdOf, sysvRemove, sysvStat } from "./sysv.ts";
import { listSysvSegments } from "./sysv_list.ts";
import { closing, forget, keepMapped, remember, sweepDeadThreads } from "./threads.ts";

/** How each kind of waiting and process probe is built, by the name the constants give it. */
const WAITING: Readonly<Record<string, () => WaitBackend>> = { futex: linuxBackend, ulock: darwinBackend };
const PROBES = { procfs: linuxProcessProbe, libproc: darwinProcessProbe } as const;

/** The platform of a POSIX `os` that constants.ts describes (`linux`, `darwin`). */
export function posixPlatform(os: string): Platform {
  const c = posixConstants(os);
  if (!c) throw new Error(`shmem has no POSIX constants for '${os}'`);
  const noListing = (what: string) => () => {
    throw unsupportedError(what, os, c.noListing);
  };
  const inventory = c.noListing === undefined
    ? { list: listPosixSegments, inspect: inspectPosixSegment, collect: collectPosixSegments }
    : {
      list: noListing("Listing segments"),
      inspect: noListing("Inspecting segments"),
      collect: noListing("Collecting segments"),
    };
  return {
    os,
    named: posixNamedBackend(c),
    file: posixFileBackend,
    sysv: {
      create: sysvCreate,
      attach: sysvAttach,
      idOf: sysvIdOf,
      remove: sysvRemove,
      stat: sysvStat,
      list: listSysvSegments,
    },
    anonymous: { checkHandle, create: memfdCreate, open: memfdOpen },
    inventory,
    holders: { sameObject },
    cpu: { currentCpu, yieldCpu },
    threads: { remember, keepMapped, closing, forget, sweep: sweepDeadThreads },
    waitBackend: WAITING[c.waiting],
    processProbe: PROBES[c.probe],
  };
}
