/**
 * Just enough X11 for the MIT-SHM example, benchmark and test: libX11 and
 * libXext bound through the runtime's own FFI (`Deno.dlopen`, `bun:ffi`,
 * koffi). `xvfb.ts` beside it starts a private X server.
 *
 * This is user code, not part of shmem: shmem gives the memory and its
 * address (`unsafeAddress()`, `pin()`), the X server does the rest. The
 * native structs Xlib reads (`XShmSegmentInfo`, out-parameters, C strings)
 * live in a small shmem `AnonymousSegment`, so every pointer handed to C is
 * an address shmem keeps mapped.
 *
 * @module
 */
import { createRequire } from "node:module";
import { AnonymousSegment, type MemoryPin, type Region, type SysvSegment } from "../mod.ts";

// ------------------------------------------------------------------ FFI shim
/** The C types the bindings use: pointers cross as bigints (0n is NULL), `u64` results come back as bigints. */
type CType = "ptr" | "i32" | "u32" | "u64" | "void";
type Def = readonly [parameters: readonly CType[], result: CType];
// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => any;

interface Shim {
  bind<T extends Record<string, Def>>(path: string, table: T): { [K in keyof T]: Fn };
  /** A C function pointer `int (*)(void *, void *)` that calls `fn`. */
  callback2(fn: (a: bigint, b: bigint) => number): bigint;
  /** A copy of `length` bytes at `address`. */
  read(address: bigint, length: number): Uint8Array;
}

const g = globalThis as { Deno?: unknown; Bun?: unknown };

async function shim(): Promise<Shim> {
  if (g.Deno !== undefined) {
    // deno-lint-ignore no-explicit-any
    const D = (globalThis as any).Deno;
    const t = (c: CType) => c === "ptr" ? "pointer" : c;
    const toP = (a: bigint) => D.UnsafePointer.create(BigInt(a));
    const fromP = (p: unknown) => p === null ? 0n : BigInt(D.UnsafePointer.value(p));
    return {
      bind(path, table) {
        const defs: Record<string, unknown> = {};
        for (const [k, [p, r]] of Object.entries(table)) defs[k] = { parameters: p.map(t), result: t(r) };
        const lib = D.dlopen(path, defs);
        const out: Record<string, Fn> = {};
        for (const [k, [p, r]] of Object.entries(table)) {
          const f = lib.symbols[k];
          out[k] = (...args: unknown[]) => {
            const v = f(...args.map((a, i) => p[i] === "ptr" ? toP(a as bigint) : a));
            return r === "ptr" ? fromP(v) : r === "u64" ? BigInt(v) : v;
          };
        }
        return out as never;
      },
      callback2(fn) {
        const cb = new D.UnsafeCallback(
          { parameters: ["pointer", "pointer"], result: "i32" },
          (a: unknown, b: unknown) => fn(fromP(a), fromP(b)),
        );
        return fromP(cb.pointer);
      },
      read(address, length) {
        return new Uint8Array(D.UnsafePointerView.getArrayBuffer(toP(address), length).slice(0));
      },
    };
  }
  if (g.Bun !== undefined) {
    const specifier = "bun:ffi";
    // deno-lint-ignore no-explicit-any
    const B: any = await import(specifier);
    const fromP = (p: unknown) => p === null || p === undefined ? 0n : BigInt(p as number);
    return {
      bind(path, table) {
        const defs: Record<string, unknown> = {};
        for (const [k, [p, r]] of Object.entries(table)) defs[k] = { args: [...p], returns: r };
        const lib = B.dlopen(path, defs);
        const out: Record<string, Fn> = {};
        for (const [k, [p, r]] of Object.entries(table)) {
          const f = lib.symbols[k];
          out[k] = (...args: unknown[]) => {
            const v = f(...args.map((a, i) => p[i] === "ptr" ? Number(a) : a));
            return r === "ptr" ? fromP(v) : r === "u64" ? BigInt(v) : v;
          };
        }
        return out as never;
      },
      callback2(fn) {
        const cb = new B.JSCallback((a: unknown, b: unknown) => fn(fromP(a), fromP(b)), {
          args: ["ptr", "ptr"],
          returns: "i32",
        });
        return fromP(cb.ptr);
      },
      read(address, length) {
        return new Uint8Array(B.toArrayBuffer(Number(address), 0, length).slice(0));
      },
    };
  }
  // deno-lint-ignore no-explicit-any
  const K: any = createRequire(import.meta.url)("koffi");
  const T: Record<CType, string> = { ptr: "void *", i32: "int", u32: "unsigned int", u64: "uint64_t", void: "void" };
  const fromP = (p: unknown) => p === null || p === undefined ? 0n : BigInt(K.address(p));
  const proto = K.proto("int shmem_x11_handler(void *, void *)");
  return {
    bind(path, table) {
      const lib = K.load(path);
      const out: Record<string, Fn> = {};
      for (const [k, [p, r]] of Object.entries(table)) {
        const f = lib.func(k, T[r], p.map((c) => T[c]));
        out[k] = (...args: unknown[]) => {
          const v = f(...args);
          return r === "ptr" ? (v === null ? 0n : BigInt(v)) : r === "u64" ? BigInt(v) : v;
        };
      }
      return out as never;
    },
    callback2(fn) {
      return BigInt(K.register((a: unknown, b: unknown) => fn(fromP(a), fromP(b)), K.pointer(proto)));
    },
    read(address, length) {
      return new Uint8Array(K.view(address, length).slice(0));
    },
  };
}

const ffi = await shim();

// ------------------------------------------------------------ symbol tables
const x11Symbols = {
  XOpenDisplay: [["ptr"], "ptr"], // Display *XOpenDisplay(const char *name)
  XCloseDisplay: [["ptr"], "i32"], // int XCloseDisplay(Display *)
  XDefaultScreen: [["ptr"], "i32"], // int XDefaultScreen(Display *)
  XRootWindow: [["ptr", "i32"], "u64"], // Window XRootWindow(Display *, int screen)
  XDefaultVisual: [["ptr", "i32"], "ptr"], // Visual *XDefaultVisual(Display *, int screen)
  XDefaultDepth: [["ptr", "i32"], "i32"], // int XDefaultDepth(Display *, int screen)
  // Window XCreateSimpleWindow(Display *, Window parent, int x, int y, unsigned w, unsigned h,
  //                            unsigned border_width, unsigned long border, unsigned long background)
  XCreateSimpleWindow: [["ptr", "u64", "i32", "i32", "u32", "u32", "u32", "u64", "u64"], "u64"],
  XMapWindow: [["ptr", "u64"], "i32"], // int XMapWindow(Display *, Window)
  XDestroyWindow: [["ptr", "u64"], "i32"], // int XDestroyWindow(Display *, Window)
  XStoreName: [["ptr", "u64", "ptr"], "i32"], // int XStoreName(Display *, Window, const char *)
  // Pixmap XCreatePixmap(Display *, Drawable, unsigned width, unsigned height, unsigned depth)
  XCreatePixmap: [["ptr", "u64", "u32", "u32", "u32"], "u64"],
  XFreePixmap: [["ptr", "u64"], "i32"], // int XFreePixmap(Display *, Pixmap)
  XCreateGC: [["ptr", "u64", "u64", "ptr"], "ptr"], // GC XCreateGC(Display *, Drawable, unsigned long mask, XGCValues *)
  XFreeGC: [["ptr", "ptr"], "i32"], // int XFreeGC(Display *, GC)
  XSetForeground: [["ptr", "ptr", "u64"], "i32"], // int XSetForeground(Display *, GC, unsigned long pixel)
  // int XFillRectangle(Display *, Drawable, GC, int x, int y, unsigned width, unsigned height)
  XFillRectangle: [["ptr", "u64", "ptr", "i32", "i32", "u32", "u32"], "i32"],
  // XImage *XCreateImage(Display *, Visual *, unsigned depth, int format, int offset, char *data,
  //                      unsigned width, unsigned height, int bitmap_pad, int bytes_per_line)
  XCreateImage: [["ptr", "ptr", "u32", "i32", "i32", "ptr", "u32", "u32", "i32", "i32"], "ptr"],
  // int XPutImage(Display *, Drawable, GC, XImage *, int src_x, int src_y, int dst_x, int dst_y, unsigned w, unsigned h)
  XPutImage: [["ptr", "u64", "ptr", "ptr", "i32", "i32", "i32", "i32", "u32", "u32"], "i32"],
  XFree: [["ptr"], "i32"], // int XFree(void *)
  XSync: [["ptr", "i32"], "i32"], // int XSync(Display *, Bool discard)
  XFlush: [["ptr"], "i32"], // int XFlush(Display *)
  XSetErrorHandler: [["ptr"], "ptr"], // XErrorHandler XSetErrorHandler(XErrorHandler)
  XGetErrorText: [["ptr", "i32", "ptr", "i32"], "i32"], // int XGetErrorText(Display *, int code, char *buf, int len)
} as const satisfies Record<string, Def>;

const xextSymbols = {
  XShmQueryExtension: [["ptr"], "i32"], // Bool XShmQueryExtension(Display *)
  // Bool XShmQueryVersion(Display *, int *major, int *minor, Bool *pixmaps)
  XShmQueryVersion: [["ptr", "ptr", "ptr", "ptr"], "i32"],
  XShmPixmapFormat: [["ptr"], "i32"], // int XShmPixmapFormat(Display *)
  XShmAttach: [["ptr", "ptr"], "i32"], // Bool XShmAttach(Display *, XShmSegmentInfo *)
  XShmDetach: [["ptr", "ptr"], "i32"], // Bool XShmDetach(Display *, XShmSegmentInfo *)
  // XImage *XShmCreateImage(Display *, Visual *, unsigned depth, int format, char *data,
  //                         XShmSegmentInfo *, unsigned width, unsigned height)
  XShmCreateImage: [["ptr", "ptr", "u32", "i32", "ptr", "ptr", "u32", "u32"], "ptr"],
  // Bool XShmPutImage(Display *, Drawable, GC, XImage *, int src_x, int src_y, int dst_x, int dst_y,
  //                   unsigned w, unsigned h, Bool send_event)
  XShmPutImage: [["ptr", "u64", "ptr", "ptr", "i32", "i32", "i32", "i32", "u32", "u32", "i32"], "i32"],
  // Bool XShmGetImage(Display *, Drawable, XImage *, int x, int y, unsigned long plane_mask)
  XShmGetImage: [["ptr", "u64", "ptr", "i32", "i32", "u64"], "i32"],
  // Pixmap XShmCreatePixmap(Display *, Drawable, char *data, XShmSegmentInfo *, unsigned w, unsigned h, unsigned depth)
  XShmCreatePixmap: [["ptr", "u64", "ptr", "ptr", "u32", "u32", "u32"], "u64"],
} as const satisfies Record<string, Def>;

function load<T extends Record<string, Def>>(names: string[], table: T): { [K in keyof T]: Fn } {
  const failures: string[] = [];
  for (const name of names) {
    try {
      return ffi.bind(name, table);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `Cannot load ${names[0]} (${failures.join("; ")}): install it (Debian: apt-get install libx11-6 libxext6)`,
  );
}

/** libX11's functions. */
export const X = load(["libX11.so.6", "libX11.so"], x11Symbols);
/** libXext's MIT-SHM functions. */
export const Xext = load(["libXext.so.6", "libXext.so"], xextSymbols);

/** `ZPixmap`, the image format with whole pixels. */
export const ZPixmap = 2;
/** `AllPlanes` for XShmGetImage. */
export const AllPlanes = 0xffffffffffffffffn;

// ------------------------------------------------------------ error handler
/** One X protocol error, as Xlib reported it to the handler. */
export interface XError {
  readonly code: number;
  readonly request: number;
  readonly minor: number;
  readonly resource: bigint;
  readonly serial: bigint;
}

const errors: XError[] = [];
let handlerInstalled = false;

/**
 * Installs an Xlib error handler that records errors instead of Xlib's
 * default, which prints and ends the process. Call {@link takeErrors} after
 * an `XSync` to see what the server refused.
 */
export function installErrorHandler(): void {
  if (handlerInstalled) return;
  handlerInstalled = true;
  // int handler(Display *, XErrorEvent *): type @0, display @8, resourceid @16,
  // serial @24, error_code @32, request_code @33, minor_code @34.
  const handler = ffi.callback2((_display, event) => {
    const e = new DataView(ffi.read(event, 40).buffer);
    errors.push({
      resource: e.getBigUint64(16, true),
      serial: e.getBigUint64(24, true),
      code: e.getUint8(32),
      request: e.getUint8(33),
      minor: e.getUint8(34),
    });
    return 0;
  });
  X.XSetErrorHandler(handler);
}

/** The errors recorded since the last call, and forgets them. */
export function takeErrors(): XError[] {
  return errors.splice(0);
}

// -------------------------------------------------------------- the display
/** An open connection to an X server, with its default screen's facts. */
export interface Display {
  readonly dpy: bigint;
  readonly screen: number;
  readonly root: bigint;
  readonly visual: bigint;
  readonly depth: number;
  /** Scratch memory for the C structs and strings this module hands to Xlib. */
  readonly scratch: AnonymousSegment;
  /** Whether the server offers MIT-SHM, its version, and whether it has shared pixmaps. */
  readonly shm: { readonly major: number; readonly minor: number; readonly pixmaps: boolean } | undefined;
  /** XSync, then throws an Error naming what failed when the server reported an error since the last check. */
  check(what: string): void;
  /** Writes a NUL-terminated string into scratch memory and returns its address. */
  cString(text: string, at?: number): bigint;
  close(): void;
}

/**
 * Opens `name` (default `$DISPLAY`) with the error handler installed.
 * Throws a clear Error when no server answers.
 */
export function openDisplay(name?: string): Display {
  installErrorHandler();
  const scratch = AnonymousSegment.create({ size: 4096 });
  const cString = (text: string, at = 512) => {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length >= 256) throw new RangeError(`String too long for the scratch area: ${text}`);
    scratch.region(at, bytes.length + 1).bytes().set([...bytes, 0]);
    return scratch.region(at).unsafeAddress();
  };
  const target = name ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .DISPLAY;
  const dpy = X.XOpenDisplay(target === undefined ? 0n : cString(target)) as bigint;
  if (dpy === 0n) {
    scratch.close();
    throw new Error(`Cannot open X display '${target ?? ""}': start an X server (Xvfb :99 &) and set DISPLAY`);
  }
  const screen = X.XDefaultScreen(dpy) as number;
  let shm: Display["shm"];
  if (Xext.XShmQueryExtension(dpy)) {
    const out = scratch.region(0, 12);
    const a = out.unsafeAddress();
    Xext.XShmQueryVersion(dpy, a, a + 4n, a + 8n);
    const v = out.array(Int32Array);
    shm = { major: v[0], minor: v[1], pixmaps: v[2] !== 0 && Xext.XShmPixmapFormat(dpy) === ZPixmap };
  }
  takeErrors();
  return {
    dpy,
    screen,
    root: X.XRootWindow(dpy, screen) as bigint,
    visual: X.XDefaultVisual(dpy, screen) as bigint,
    depth: X.XDefaultDepth(dpy, screen) as number,
    scratch,
    shm,
    cString,
    check(what: string) {
      X.XSync(dpy, 0);
      const got = takeErrors();
      if (got.length === 0) return;
      const e = got[0];
      const text = scratch.region(1024, 256);
      text.bytes().fill(0);
      X.XGetErrorText(dpy, e.code, text.unsafeAddress(), 255);
      const bytes = text.bytes();
      const message = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
      throw new Error(
        `${what} failed: the X server answered ${message} (error ${e.code}, request ${e.request}.${e.minor})`,
        { cause: got },
      );
    },
    close() {
      X.XCloseDisplay(dpy);
      scratch.close();
    },
  };
}

// ---------------------------------------------------------- MIT-SHM images
/** Request numbers of MIT-SHM's minor opcodes, for error messages. */
export const XShmRequest = { Attach: 1, Detach: 2, PutImage: 3, GetImage: 4, CreatePixmap: 5 } as const;

/** A System V segment the X server has attached, with an XImage over it. */
export interface ShmImage {
  /** The `XImage *` (for XShmPutImage/XShmGetImage). */
  readonly image: bigint;
  readonly width: number;
  readonly height: number;
  readonly bytesPerLine: number;
  readonly bitsPerPixel: number;
  /** The `XShmSegmentInfo *` (for XShmCreatePixmap). */
  readonly info: bigint;
  /** Pixels, one 32-bit word each (depth 24/32), over the segment through shmem's views. */
  readonly pixels: Uint32Array;
  /** XShmDetach, XSync, frees the XImage, releases the pin. The segment stays yours to close and remove. */
  detach(): void;
}

/** Which of the 32 XShmSegmentInfo slots in a display's scratch memory are in use. */
const usedSlots = new WeakMap<Display, Set<number>>();

function takeSlot(display: Display): number {
  let used = usedSlots.get(display);
  if (!used) usedSlots.set(display, used = new Set());
  for (let i = 0; i < 32; i++) {
    if (!used.has(i)) {
      used.add(i);
      return i;
    }
  }
  throw new Error("This example holds at most 32 attached images per display");
}

/**
 * Makes an XImage over `seg` and has the server attach the segment
 * (XShmAttach). A refused attach (another machine, another IPC namespace,
 * no permission) throws an Error with the server's answer instead of
 * ending the process. The segment is pinned until `detach()`, so closing it
 * while the server holds it throws.
 */
export function attachImage(display: Display, seg: SysvSegment, width: number, height: number): ShmImage {
  if (!display.shm) throw new Error("The X server has no MIT-SHM extension: use XPutImage over the socket instead");
  if (seg.size < width * height * 4) {
    throw new RangeError(`Segment of ${seg.size} bytes is too small for ${width}x${height}`);
  }
  const pin: MemoryPin = seg.pin();
  // XShmSegmentInfo { ShmSeg shmseg @0; int shmid @8; char *shmaddr @16; Bool readOnly @24 }: 32 bytes.
  const slot = takeSlot(display);
  const free = () => {
    usedSlots.get(display)!.delete(slot);
    pin.release();
  };
  const infoRegion: Region = display.scratch.region(2048 + slot * 32, 32);
  const info = new DataView(infoRegion.bytes().buffer, infoRegion.bytes().byteOffset, 32);
  info.setBigUint64(0, 0n, true);
  info.setInt32(8, seg.id, true);
  info.setBigUint64(16, pin.address, true);
  info.setInt32(24, 0, true);
  const infoAddress = infoRegion.unsafeAddress();
  const image = Xext.XShmCreateImage(
    display.dpy,
    display.visual,
    display.depth,
    ZPixmap,
    pin.address,
    infoAddress,
    width,
    height,
  ) as bigint;
  if (image === 0n) {
    free();
    throw new Error(`XShmCreateImage failed for ${width}x${height}`);
  }
  // XImage: width @0, height @4, ... bytes_per_line @44, bits_per_pixel @48.
  const fields = new DataView(ffi.read(image, 56).buffer);
  const bytesPerLine = fields.getInt32(44, true);
  const bitsPerPixel = fields.getInt32(48, true);
  if (bitsPerPixel !== 32 || bytesPerLine * height > seg.size) {
    X.XFree(image);
    free();
    throw new Error(`This example needs 32 bits a pixel (depth 24 or 32); the server uses ${bitsPerPixel}`);
  }
  Xext.XShmAttach(display.dpy, infoAddress);
  try {
    display.check(`XShmAttach of System V segment ${seg.id}`);
  } catch (error) {
    X.XFree(image);
    free();
    throw error;
  }
  let attached = true;
  return {
    image,
    width,
    height,
    bytesPerLine,
    bitsPerPixel,
    info: infoAddress,
    pixels: seg.region(0, bytesPerLine * height).array(Uint32Array),
    detach() {
      if (!attached) return;
      attached = false;
      Xext.XShmDetach(display.dpy, infoAddress);
      X.XSync(display.dpy, 0);
      X.XFree(image);
      free();
    },
  };
}
