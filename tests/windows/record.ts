// What the one-process Windows children share (tests/windows/single.ts and
// tests/windows/foreign.ts): the record of what they saw, and small helpers.
import { Segment, ShmError } from "../../mod.ts";
import { kernel32 } from "../../windows/kernel32.ts";
export { wide } from "../../windows/strings.ts";

export const seen: Record<string, unknown> = {};

/** What an error looks like, for the suite to compare. */
export function describe(error: unknown): Record<string, unknown> {
  if (error instanceof ShmError) {
    return { class: "ShmError", code: error.code, errno: error.errno, syscall: error.syscall, path: error.path };
  }
  return { class: (error as Error)?.name ?? typeof error, message: (error as Error)?.message };
}

/** Runs `fn` and records its result, or the error it throws. */
export function attempt(label: string, fn: () => unknown): void {
  try {
    seen[label] = { ok: fn() ?? true };
  } catch (error) {
    seen[label] = { error: describe(error) };
  }
}

/** Whether a segment of this name can be opened right now (closes it again). */
export function exists(name: string, namespace: "local" | "global" = "local"): boolean | string {
  try {
    Segment.open(name, { namespace }).close();
    return true;
  } catch (error) {
    if (error instanceof ShmError && error.code === "ENOENT") return false;
    return `unexpected ${String(error)}`;
  }
}

export const w = kernel32();
