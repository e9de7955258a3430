// Frames per second into an X server: XShmPutImage from a SysvSegment the
// server has attached (shmem's views) against XPutImage, which sends every
// pixel over the socket, measured in the same run against the same Xvfb.
// Each frame changes one row through the views, sends the whole frame and
// waits for the server (XSync). Medians of interleaved rounds.
//
//   node bench/x11.bench.ts all [rounds=7] [frames=60]   every runtime, one private Xvfb, a Markdown table
//   <runtime> bench/x11.bench.ts <display> [rounds] [frames]   one runtime, prints JSON
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startXvfb } from "../examples/xvfb.ts";

const [target = "all", roundsArg = "7", framesArg = "60"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const frames = Number(framesArg);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SIZES = [[640, 480], [1920, 1080]] as const;

interface Result {
  runtime: string;
  sizes: { width: number; height: number; shm_fps: number; socket_fps: number; ratio: number }[];
}

async function measure(displayName: string): Promise<Result> {
  const { AnonymousSegment, SysvSegment } = await import("../mod.ts");
  const { attachImage, openDisplay, X, Xext, ZPixmap } = await import("../examples/x11.ts");
  const display = openDisplay(displayName);
  if (!display.shm) throw new Error("The X server has no MIT-SHM");
  const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
  const result: Result = { runtime, sizes: [] };
  for (const [width, height] of SIZES) {
    const window = X.XCreateSimpleWindow(display.dpy, display.root, 0, 0, width, height, 0, 0n, 0n) as bigint;
    X.XMapWindow(display.dpy, window);
    const gc = X.XCreateGC(display.dpy, window, 0n, 0n) as bigint;
    // MIT-SHM: the server reads the pixels from the segment.
    const seg = SysvSegment.create({ size: width * height * 4 });
    const shm = attachImage(display, seg, width, height);
    seg.remove();
    // The socket: the same pixels in this process's own memory, copied into requests by Xlib.
    const local = AnonymousSegment.create({ size: width * height * 4 });
    const image = X.XCreateImage(
      display.dpy,
      display.visual,
      display.depth,
      ZPixmap,
      0,
      local.unsafeAddress(),
      width,
      height,
      32,
      width * 4,
    ) as bigint;
    if (image === 0n) throw new Error("XCreateImage failed");
    const fill = (pixels: Uint32Array) => {
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i, 2654435761) >>> 8;
    };
    const shmPixels = shm.pixels;
    const localPixels = local.bytes().subarray(0, width * height * 4);
    const localWords = new Uint32Array(localPixels.buffer, localPixels.byteOffset, width * height);
    fill(shmPixels);
    fill(localWords);
    const run = (pixels: Uint32Array, put: () => void) => {
      const started = performance.now();
      for (let t = 0; t < frames; t++) {
        pixels.fill(t * 0x010101, ((t * 7) % height) * width, ((t * 7) % height + 1) * width);
        put();
        X.XSync(display.dpy, 0);
      }
      return frames / ((performance.now() - started) / 1000);
    };
    const viaShm = () => Xext.XShmPutImage(display.dpy, window, gc, shm.image, 0, 0, 0, 0, width, height, 0);
    const viaSocket = () => X.XPutImage(display.dpy, window, gc, image, 0, 0, 0, 0, width, height);
    run(shmPixels, viaShm); // warm up both paths
    run(localWords, viaSocket);
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(run(shmPixels, viaShm));
      b.push(run(localWords, viaSocket));
    }
    display.check("the benchmark's requests");
    const shmFps = median(a);
    const socketFps = median(b);
    result.sizes.push({ width, height, shm_fps: shmFps, socket_fps: socketFps, ratio: shmFps / socketFps });
    X.XFree(image); // the struct only: the pixels are the AnonymousSegment's
    local.close();
    shm.detach();
    seg.close();
    X.XFreeGC(display.dpy, gc);
    X.XDestroyWindow(display.dpy, window);
  }
  display.close();
  return result;
}

if (target === "all") {
  const server = await startXvfb(1920, 1080);
  if (!server) throw new Error("Xvfb is not installed: run tools/x11/setup.sh");
  const bin = (p: string) => fileURLToPath(new URL(`../node_modules/.bin/${p}`, import.meta.url));
  const self = fileURLToPath(import.meta.url);
  const rows: Result[] = [];
  try {
    for (
      const cmd of [[bin("deno"), "run", "--allow-all", "--quiet"], [bin("bun"), "run"], [bin("node"), "--no-warnings"]]
    ) {
      const r = spawnSync(cmd[0], [...cmd.slice(1), self, server.display, String(rounds), String(frames)], {
        encoding: "utf8",
        timeout: 600_000,
      });
      if (r.status !== 0) throw new Error(`${cmd[0]} failed (${r.status ?? r.signal}): ${r.stderr}`);
      rows.push(JSON.parse(r.stdout.trim().split("\n").at(-1)!));
    }
  } finally {
    await server.stop();
  }
  console.log(
    `Frames per second into Xvfb (median of ${rounds} rounds of ${frames} frames; one row changed per frame, XSync after each):\n`,
  );
  console.log("| runtime | size | XShmPutImage (shmem) | XPutImage (socket) | ratio |");
  console.log("|---|---|---:|---:|---:|");
  for (const row of rows) {
    for (const s of row.sizes) {
      console.log(
        `| ${row.runtime} | ${s.width}×${s.height} | ${s.shm_fps.toFixed(0)} | ${s.socket_fps.toFixed(0)} | ${
          s.ratio.toFixed(1)
        }× |`,
      );
    }
  }
} else {
  console.log(JSON.stringify(await measure(target)));
}
