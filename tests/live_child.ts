/**
 * A child process that keeps running: wait until it prints "ready", signal
 * it, and collect how it ended.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { command, ROOT } from "./helpers.ts";
import type { ChildResult, Runtime } from "./helpers.ts";

/** A running child. */
export interface LiveChild {
  readonly process: ChildProcess;
  /** Resolves when the child printed "ready"; rejects if it ends first. */
  readonly ready: Promise<void>;
  /** Resolves when the child has ended. */
  readonly ended: Promise<ChildResult>;
}

/** Starts `script` in `runtime`; it is killed with SIGKILL after `timeout` ms. */
export function start(runtime: Runtime, script: string, args: string[] = [], timeout = 60_000): LiveChild {
  const [exe, ...pre] = command(runtime);
  const p = spawn(exe, [...pre, script, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let onReady: () => void;
  let onFail: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  p.stdout!.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    if (/^ready$/m.test(stdout)) onReady();
  });
  p.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => p.kill("SIGKILL"), timeout);
  const ended = new Promise<ChildResult>((resolve) => {
    p.on("close", (status, signal) => {
      clearTimeout(timer);
      onFail(new Error(`child ended before ready (status ${status}, signal ${signal}):\n${stdout}\n${stderr}`));
      resolve({ status, signal, stdout, stderr });
    });
  });
  ready.catch(() => {});
  return { process: p, ready, ended };
}
