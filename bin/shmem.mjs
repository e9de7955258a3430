#!/usr/bin/env node
// The `shmem` command for npm and Bun installs: runs cli.ts. Bun runs
// TypeScript anywhere; Node 24 strips types, but not for files inside
// node_modules, so an installed copy run by Node says how to run it instead.
import process from "node:process";

try {
  const { main } = await import("../cli.ts");
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error?.code !== "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING") throw error;
  process.stderr.write(
    "shmem: Node cannot run TypeScript from node_modules. Run the command with Bun (`bunx --bun shmem ...`) or Deno (`deno run --allow-ffi --allow-read --allow-write <path to shmem>/cli.ts ...`).\n",
  );
  process.exitCode = 1;
}
