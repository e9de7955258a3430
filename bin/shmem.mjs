#!/usr/bin/env node
// The `shmem` command. An installed package runs the built JavaScript
// (dist/cli.js, made by `npm pack`), which plain Node and Bun both run; a clone
// without a build runs cli.ts, which Node 22.18+/24, Bun and Deno run as it is.
import { existsSync } from "node:fs";
import process from "node:process";

const built = new URL("../dist/cli.js", import.meta.url);
const { main } = await import(existsSync(built) ? built.href : new URL("../cli.ts", import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
