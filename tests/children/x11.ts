// Child: MIT-SHM against the X server named by argv[2] (an Xvfb the test started).
// Prints one JSON line of what it saw; the test asserts on it.
import { type ShmError, SysvSegment } from "../../mod.ts";
import { AllPlanes, attachImage, openDisplay, X, Xext, XShmRequest } from "../../examples/x11.ts";
import { ipcsRow } from "../resources.ts";

const W = 160;
const H = 120;
const display = openDisplay(process.argv[2]);
const report: Record<string, unknown> = { shm: display.shm, depth: display.depth };
const nattch = (seg: SysvSegment) => SysvSegment.list().find((r) => r.id === seg.id)?.attachments;

// A refused attach is an Error, not the end of the process: shmid that no longer exists.
const gone = SysvSegment.create({ size: 4096 });
gone.close();
gone.remove();
const raw = display.scratch.region(3072, 32);
const info = new DataView(raw.bytes().buffer, raw.bytes().byteOffset, 32);
info.setInt32(8, gone.id, true);
info.setBigUint64(16, raw.unsafeAddress(), true);
Xext.XShmAttach(display.dpy, raw.unsafeAddress());
try {
  display.check(`XShmAttach of removed segment ${gone.id}`);
  report.badAttach = "no error";
} catch (error) {
  const cause = (error as Error).cause as { request: number; minor: number }[];
  report.badAttach = (error as Error).message;
  report.badAttachMinor = cause[0].minor;
}
report.shmAttachMinor = XShmRequest.Attach;

// 1. The server attaches the segment: nattch 2 (this process and the server).
const src = SysvSegment.create({ size: W * H * 4 });
const dst = SysvSegment.create({ size: W * H * 4 });
const shared = SysvSegment.create({ size: W * H * 4 });
report.ids = [src.id, dst.id, shared.id];
const srcImage = attachImage(display, src, W, H);
const dstImage = attachImage(display, dst, W, H);
report.nattchAttached = [nattch(src), ipcsRow(src.id)?.nattch];
try {
  src.close();
  report.closeWhileAttached = "closed";
} catch (error) {
  report.closeWhileAttached = (error as ShmError).code;
}
report.openAfterRefusedClose = !src.closed;

// 2. XShmPutImage, then XShmGetImage into the second segment: byte for byte.
//    Pixels are 0x00RRGGBB: the pad byte is 0, as the server returns it for depth 24.
const stride = srcImage.bytesPerLine / 4;
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) srcImage.pixels[y * stride + x] = Math.imul(y * W + x + 1, 2654435761) >>> 8;
}
const pixmap = X.XCreatePixmap(display.dpy, display.root, W, H, display.depth) as bigint;
const gc = X.XCreateGC(display.dpy, pixmap, 0n, 0n) as bigint;
Xext.XShmPutImage(display.dpy, pixmap, gc, srcImage.image, 0, 0, 0, 0, W, H, 0);
Xext.XShmGetImage(display.dpy, pixmap, dstImage.image, 0, 0, AllPlanes);
display.check("XShmPutImage + XShmGetImage");
const a = src.region(0, srcImage.bytesPerLine * H).bytes();
const b = dst.region(0, dstImage.bytesPerLine * H).bytes();
report.roundTripBytes = a.length;
report.roundTripMismatch = a.findIndex((v, i) => v !== b[i]);
report.patternDistinct = new Set(srcImage.pixels).size;

// 3. A shared pixmap drawn by the server shows up in shmem's views.
if (display.shm?.pixmaps) {
  const sharedImage = attachImage(display, shared, W, H);
  const spix = Xext.XShmCreatePixmap(
    display.dpy,
    display.root,
    shared.unsafeAddress(),
    sharedImage.info,
    W,
    H,
    display.depth,
  ) as bigint;
  const sgc = X.XCreateGC(display.dpy, spix, 0n, 0n) as bigint;
  X.XSetForeground(display.dpy, sgc, 0x00abcdefn);
  X.XFillRectangle(display.dpy, spix, sgc, 10, 20, 30, 40);
  display.check("XShmCreatePixmap + XFillRectangle");
  const view = shared.region(0, W * H * 4).array(Uint32Array);
  let inside = 0;
  let outside = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = view[y * (sharedImage.bytesPerLine / 4) + x];
      if (x >= 10 && x < 40 && y >= 20 && y < 60) inside += v === 0xabcdef ? 1 : 0;
      else outside += v === 0 ? 0 : 1;
    }
  }
  report.pixmap = { inside, outside };
  X.XFreeGC(display.dpy, sgc);
  X.XFreePixmap(display.dpy, spix);
  sharedImage.detach();
}
X.XFreeGC(display.dpy, gc);
X.XFreePixmap(display.dpy, pixmap);

// 4. XShmDetach, close(), remove(): nothing left.
srcImage.detach();
dstImage.detach();
report.nattchDetached = nattch(src);
for (const seg of [src, dst, shared]) {
  seg.close();
  seg.remove();
}
report.left = [src, dst, shared].map((seg) => ipcsRow(seg.id) ?? null);
report.usableAfterError = X.XDefaultDepth(display.dpy, display.screen) === display.depth;
display.close();
console.log(JSON.stringify(report));
