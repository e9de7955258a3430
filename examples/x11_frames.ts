/**
 * Moving frames into an X window through MIT-SHM: the pixels are written
 * through shmem's views of a System V segment that the X server has
 * attached, and `XShmPutImage` tells the server to copy them to the window
 * (no pixel crosses the socket).
 *
 *   deno run --allow-all examples/x11_frames.ts [frames]
 *   bun run examples/x11_frames.ts [frames]
 *   node examples/x11_frames.ts [frames]
 *
 * Uses `$DISPLAY`; when it is not set, starts a private Xvfb (Debian:
 * `tools/x11/setup.sh` installs it) and ends it afterwards. Default 300 frames of 640×480.
 *
 * @module
 */
import { SysvSegment } from "../mod.ts";
import { attachImage, openDisplay, X, Xext } from "./x11.ts";
import { startXvfb, type Xvfb } from "./xvfb.ts";

const frames = Number(process.argv[2] ?? 300);
if (!Number.isSafeInteger(frames) || frames < 1) {
  throw new RangeError(`Frames must be a positive integer, got ${process.argv[2]}`);
}
const width = 640;
const height = 480;

let server: Xvfb | undefined;
if (!process.env.DISPLAY) {
  server = await startXvfb();
  if (!server) throw new Error("No DISPLAY and no Xvfb: set DISPLAY, or install Xvfb (tools/x11/setup.sh)");
  console.log(`started Xvfb on ${server.display} (pid ${server.pid})`);
}
try {
  const display = openDisplay(server?.display);
  try {
    if (!display.shm) throw new Error("This X server has no MIT-SHM extension");
    console.log(`MIT-SHM ${display.shm.major}.${display.shm.minor}, depth ${display.depth}`);
    const window = X.XCreateSimpleWindow(display.dpy, display.root, 0, 0, width, height, 0, 0n, 0n) as bigint;
    X.XStoreName(display.dpy, window, display.cString("shmem: MIT-SHM frames"));
    X.XMapWindow(display.dpy, window);
    const gc = X.XCreateGC(display.dpy, window, 0n, 0n) as bigint;

    const seg = SysvSegment.create({ size: width * height * 4 });
    let image: ReturnType<typeof attachImage> | undefined;
    try {
      image = attachImage(display, seg, width, height); // throws a clear Error if the server refuses
      // Both this process and the server are attached: mark it for removal now, so that it
      // disappears once both detach, even if this process crashes.
      seg.remove();
      console.log(`System V segment ${seg.id} attached by the X server (marked for removal)`);
      const stride = image.bytesPerLine / 4;
      const pixels = image.pixels; // a Uint32Array over the shared memory (0x00RRGGBB)
      const started = performance.now();
      for (let t = 0; t < frames; t++) {
        for (let y = 0; y < height; y++) {
          const row = y * stride;
          const g = ((y + t) & 255) << 8;
          for (let x = 0; x < width; x++) pixels[row + x] = (((x + 2 * t) & 255) << 16) | g | ((t * 3) & 255);
        }
        Xext.XShmPutImage(display.dpy, window, gc, image.image, 0, 0, 0, 0, width, height, 0);
        X.XSync(display.dpy, 0); // the server has copied the frame: the next one may overwrite it
      }
      const seconds = (performance.now() - started) / 1000;
      display.check("XShmPutImage");
      console.log(
        `${frames} frames of ${width}x${height} in ${seconds.toFixed(2)} s: ${(frames / seconds).toFixed(0)} fps`,
      );
    } finally {
      image?.detach(); // XShmDetach + XSync: the server no longer holds the memory
      seg.close(); // would throw ERR_PINNED while the server still held it
      if (seg.exists()) seg.remove();
    }
    X.XFreeGC(display.dpy, gc);
    X.XDestroyWindow(display.dpy, window);
  } finally {
    display.close();
  }
} finally {
  await server?.stop();
}
