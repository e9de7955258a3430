/**
 * Starts a private Xvfb (virtual X server) for the X11 example, benchmark
 * and test. No FFI here: this file loads on a machine without libX11.
 *
 * @module
 */
import { spawn } from "node:child_process";

/** A private X server started by {@link startXvfb}. */
export interface Xvfb {
  /** The display name, such as `:3`. */
  readonly display: string;
  readonly pid: number;
  /** Ends the server by its pid and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts Xvfb on a display it picks itself (`-displayfd`, so two runs never
 * race for one), 24-bit, no TCP. Resolves once the server accepts clients;
 * `undefined` when Xvfb is not installed (tools/x11/setup.sh installs it).
 */
export function startXvfb(width = 1024, height = 768): Promise<Xvfb | undefined> {
  return new Promise((resolve, reject) => {
    const p = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", `${width}x${height}x24`, "-nolisten", "tcp"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let done = false;
    let running = true;
    p.on("exit", () => {
      running = false;
    });
    // "close": exited and both pipes closed, so stop() leaves no descriptor behind.
    const closed = new Promise<void>((r) => p.on("close", () => r()));
    p.on("error", (error: Error & { code?: string }) => {
      if (done) return;
      done = true;
      if (error.code === "ENOENT") resolve(undefined);
      else reject(error);
    });
    p.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    p.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (done || !out.includes("\n")) return;
      done = true;
      const pid = p.pid!;
      resolve({
        display: `:${out.trim()}`,
        pid,
        async stop() {
          if (!running) return;
          try {
            process.kill(pid, "SIGTERM");
          } catch {
            return;
          }
          await closed;
        },
      });
    });
    p.on("exit", (code, signal) => {
      if (done) return;
      done = true;
      reject(new Error(`Xvfb exited (${code ?? signal}) before it was ready:\n${err}`));
    });
  });
}
