/**
 * The internal interface between the public classes and the platform code,
 * and the choice of backend for this operating system.
 *
 * `posix/` and `windows/` implement {@link NamedBackend}; the public classes
 * are written once against it. An OS with neither gets a backend whose every
 * call throws a clear "unsupported" error.
 *
 * @module
 */
import { ffi } from "../ffi/mod.ts";
import type { NameRules } from "../names.ts";
import { posixNamedBackend } from "../posix/shm.ts";
import { windowsNamedBackend } from "../windows/mapping.ts";

/** One live mapping, as the platform made it. */
export interface RawMapping {
  /** Base address of the mapping. */
  readonly address: bigint;
  /** Bytes mapped. */
  readonly size: number;
  /** The descriptor or handle kept open for the mapping's lifetime (-1 when none). */
  readonly handle: number | bigint;
  /**
   * Unmaps and closes the handle; called exactly once. With `keepMapped`,
   * only the handle is closed (the memory may still be reachable).
   */
  release(keepMapped?: boolean): void;
  /** Where the mapping is a private copy of shared memory (macOS read-only opens): copies that window again. */
  readonly refresh?: (offset: number, length: number) => void;
}

/** Options of {@link NamedBackend.create}, already validated. */
export interface CreateRequest {
  readonly size: number;
  readonly mode: number;
  readonly reserve: boolean;
  /** Mark the segment as created by shmem, so a collector may remove it once nobody holds it (default true). */
  readonly track?: boolean;
  /** Windows: the kernel object namespace (`Local\` or `Global\`); ignored elsewhere. */
  readonly namespace: Namespace;
  /** Windows: the security descriptor in SDDL; ignored elsewhere. */
  readonly sddl?: string;
}

/** Windows' kernel object namespaces: `Local\` (this session) or `Global\` (all sessions). */
export type Namespace = "local" | "global";

/** Options of {@link NamedBackend.open}, already validated. */
export interface OpenRequest {
  /** Open for reading only; writes through the views stay private to this process. */
  readonly readOnly: boolean;
  /** Copy-on-write: this process's writes are never seen by others. */
  readonly private: boolean;
  /** Windows: the kernel object namespace; ignored elsewhere. */
  readonly namespace: Namespace;
}

/** Named shared memory on one platform. Names arrive validated and portable (no leading `/`). */
export interface NamedBackend {
  /** The rules {@link portableName} checks before any call. */
  readonly nameRules: NameRules;
  /** The largest size accepted before any call. */
  readonly maxSize: number;
  /** Whether names persist until unlinked (POSIX) or vanish with the last handle (Windows). */
  readonly persistent: boolean;
  create(name: string, request: CreateRequest): RawMapping;
  open(name: string, request: OpenRequest): RawMapping;
  unlink(name: string, namespace: Namespace): void;
}

function unsupported(os: string): NamedBackend {
  const fail = (): never => {
    throw new Error(`shmem does not support shared memory on '${os}' (supported: Linux, macOS, Windows)`);
  };
  return {
    nameRules: { platform: os, maxUnits: 255, unit: "utf8", prefixUnits: 0, forbidden: [] },
    maxSize: 0,
    persistent: true,
    create: fail,
    open: fail,
    unlink: fail,
  };
}

/** The backend for `os` (`process.platform` spelling). */
export function namedBackendFor(os: string): NamedBackend {
  return posixNamedBackend(os) ?? windowsNamedBackend(os) ?? unsupported(os);
}

let current: NamedBackend | undefined;

/** The backend of this process's OS. */
export function namedBackend(): NamedBackend {
  return current ??= namedBackendFor(ffi.os);
}
