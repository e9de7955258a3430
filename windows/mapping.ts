/**
 * Named file mappings on Windows (kernel32). Not written yet: the backend is
 * only offered on `win32`.
 *
 * @module
 */
import type { NamedBackend } from "../backend.ts";

/** The Windows backend for `os`, or `undefined` on other systems. */
export function windowsNamedBackend(os: string): NamedBackend | undefined {
  if (os !== "win32") return undefined;
  const fail = (): never => {
    throw new Error("shmem on Windows is not implemented yet");
  };
  return {
    nameRules: { platform: "Windows", maxUnits: 260, unit: "utf16", prefixUnits: 6, forbidden: ["\\"] },
    maxSize: 2 ** 47,
    persistent: false,
    create: fail,
    open: fail,
    unlink: fail,
  };
}
