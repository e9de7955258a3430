// One side of a channel benchmark, in any runtime; bench/channel.bench.ts runs two of them.
// Usage: <runtime> bench/channel_peer.ts <case> <a|b> <segment> <socket-or-fifo-path>
// Side "a" measures and prints JSON { samples }: microseconds per round trip
// (latency cases) or GB/s (throughput cases), one sample per batch.
//   chan-ping   ping-pong of 8-byte messages over two Channels (reserve/commit, recvInPlace/release)
//   futex-ping  ping-pong over two futex words with wait/notify
//   spin-ping   the raw baseline: ping-pong over two words that each side spins on (Atomics.load), then
//               sleeps on a flag word with wait() once the spin budget is spent; notify() only a sleeper
//   sock-ping   ping-pong of 8 bytes over a Unix socket (Deno.connect / Bun.connect / node:net)
//   chan-copy   1 MiB messages, send() and recvInPlace() + set() into a reused buffer + release():
//               one copy in, one copy out, like a socket (recv() would also allocate a new buffer each time)
//   chan-inplace  1 MiB messages, reserve()/commit() and recvInPlace()/release(): no copy; the sides
//               touch only the first byte, so this measures what the transport itself costs
//   sock-tput   1 MiB writes over a Unix socket
//   pipe-tput   1 MiB writes through a FIFO (node:fs, synchronous)
//   memcpy      Uint8Array.prototype.set of 1 MiB in one process (side "a" only)
import { Channel, notify, Segment, wait } from "../mod.ts";
import * as fs from "node:fs";
import * as net from "node:net";

const [kind, side, name, path] = process.argv.slice(2);
const MIB = 1 << 20;
const PING_BATCH = 32;
const PING_SAMPLES = 400;
/** Warm-up: at least this many round trips, and at least this long (the engines compile the hot paths fully only after ~10^5 calls). */
const PING_WARMUP = 2000;
const PING_WARMUP_MS = 300;
const TPUT_BATCH = 8; // messages per sample
const TPUT_SAMPLES = 40;
const TPUT_WARMUP = 16;
const TPUT_TOTAL = TPUT_WARMUP + TPUT_BATCH * TPUT_SAMPLES;
const now = () => performance.now();
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime = g.Deno ? "deno" : g.Bun ? "bun" : "node";

function print(samples: number[]): void {
  console.log(JSON.stringify({ samples }));
}

/** Runs `rtt` (one round trip) in warm-up and then timed batches; side a only. */
async function pingLoop(rtt: (i: number) => void | Promise<void>): Promise<void> {
  let i = 1;
  for (const end = now() + PING_WARMUP_MS; i <= PING_WARMUP || (i & 1023) !== 0 || now() < end; i++) await rtt(i);
  const samples: number[] = [];
  for (let s = 0; s < PING_SAMPLES; s++) {
    const t0 = now();
    for (let k = 0; k < PING_BATCH; k++, i++) await rtt(i);
    samples.push(((now() - t0) * 1000) / PING_BATCH);
  }
  print(samples);
}

/** Times TPUT_BATCH messages per sample on the receiving side; `next` receives one message. */
async function tputLoop(next: () => void | Promise<void>): Promise<void> {
  for (let i = 0; i < TPUT_WARMUP; i++) await next();
  const samples: number[] = [];
  for (let s = 0; s < TPUT_SAMPLES; s++) {
    const t0 = now();
    for (let k = 0; k < TPUT_BATCH; k++) await next();
    samples.push((TPUT_BATCH * MIB) / ((now() - t0) / 1000) / 1e9);
  }
  print(samples);
}

const seg = kind === "memcpy" ? undefined : Segment.open(name);
const channel = (offset: number, size: number) => Channel.open(seg!.region(offset, size));

if (kind === "chan-ping") {
  const ping = channel(0, 4096);
  const pong = channel(4096, 4096);
  const [tx, rx] = side === "a" ? [ping, pong] : [pong, ping];
  const one = (i: number) => {
    const m = tx.reserve(8)!;
    m[0] = i;
    tx.commit();
    rx.recvInPlace();
    rx.release();
  };
  if (side === "a") {
    await pingLoop(one);
    ping.close();
  } else {
    for (let m = rx.recvInPlace(); m !== null; m = rx.recvInPlace()) {
      const v = m[0];
      rx.release();
      tx.reserve(8)![0] = v;
      tx.commit();
    }
  }
} else if (kind === "futex-ping") {
  const w = seg!.region(0, 8).array(Int32Array);
  if (side === "a") {
    await pingLoop((i) => {
      Atomics.store(w, 0, i);
      notify(w, 0, 1);
      for (let v = Atomics.load(w, 1); v !== i; v = Atomics.load(w, 1)) wait(w, 1, v);
    });
    Atomics.store(w, 0, -1);
    notify(w, 0, 1);
  } else {
    for (let seen = 0;;) {
      let v = Atomics.load(w, 0);
      while (v === seen) {
        wait(w, 0, v);
        v = Atomics.load(w, 0);
      }
      if (v === -1) break;
      seen = v;
      Atomics.store(w, 1, v);
      notify(w, 1, 1);
    }
  }
} else if (kind === "spin-ping") {
  // Words 0 (a to b) and 16 (b to a), a cache line apart, carry the round number; 1 and 17 say "the reader sleeps".
  const w = seg!.region(0, 128).array(Int32Array);
  const SPINS = 1 << 16;
  const put = (word: number, v: number) => {
    Atomics.store(w, word, v);
    if (Atomics.load(w, word + 1) !== 0 && Atomics.exchange(w, word + 1, 0) !== 0) notify(w, word + 1, 1);
  };
  const next = (word: number, old: number): number => {
    for (let i = 0; i < SPINS; i++) {
      const v = Atomics.load(w, word);
      if (v !== old) return v;
    }
    for (;;) {
      Atomics.store(w, word + 1, 1);
      const v = Atomics.load(w, word);
      if (v !== old) {
        Atomics.store(w, word + 1, 0);
        return v;
      }
      wait(w, word + 1, 1);
    }
  };
  if (side === "a") {
    await pingLoop((i) => {
      put(0, i);
      next(16, i - 1);
    });
    put(0, -1);
  } else {
    for (let seen = 0;;) {
      const v = next(0, seen);
      if (v === -1) break;
      put(16, seen = v);
    }
  }
} else if (kind === "chan-copy" || kind === "chan-inplace") {
  const ch = channel(0, 192 + 4 * MIB + 65536);
  const inPlace = kind === "chan-inplace";
  if (side === "a") {
    const dst = new Uint8Array(MIB);
    await tputLoop(() => {
      const m = ch.recvInPlace()!;
      if (!inPlace) dst.set(m); // copy out into a reused buffer, as a socket reader does
      ch.release();
    });
    ch.close();
  } else {
    const src = new Uint8Array(MIB).fill(7);
    try {
      for (let i = 0; i < TPUT_TOTAL; i++) {
        if (inPlace) {
          ch.reserve(MIB)![0] = i;
          ch.commit();
        } else {
          ch.send(src);
        }
      }
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_CHANNEL_CLOSED") throw error;
    }
  }
} else if (kind === "memcpy") {
  const src = new Uint8Array(MIB).fill(7);
  const dst = new Uint8Array(MIB);
  await tputLoop(() => dst.set(src));
} else if (kind === "pipe-tput") {
  if (side === "a") {
    const fd = fs.openSync(path, "r");
    const buf = new Uint8Array(MIB);
    await tputLoop(() => {
      for (let got = 0; got < MIB;) {
        const n = fs.readSync(fd, buf, got, MIB - got, null);
        if (n === 0) throw new Error("pipe closed early");
        got += n;
      }
    });
    fs.closeSync(fd);
  } else {
    const fd = fs.openSync(path, "w");
    const src = new Uint8Array(MIB).fill(7);
    try {
      for (let i = 0; i < TPUT_TOTAL; i++) {
        for (let put = 0; put < MIB;) put += fs.writeSync(fd, src, put, MIB - put);
      }
    } catch (error) {
      if ((error as { code?: string }).code !== "EPIPE") throw error;
    }
    fs.closeSync(fd);
  }
} else if (kind === "sock-ping" || kind === "sock-tput") {
  await socketCase(kind === "sock-ping");
} else {
  console.error(`unknown case ${kind}`);
  process.exit(2);
}
seg?.close();

/**
 * The socket cases: side b listens on `path` and echoes (ping) or writes
 * (throughput); side a connects and measures. Each runtime uses its own API.
 */
async function socketCase(ping: boolean): Promise<void> {
  const total = TPUT_TOTAL * MIB;
  const src = new Uint8Array(MIB).fill(7);
  if (runtime === "deno") {
    const Deno = g.Deno;
    if (side === "b") {
      const listener = Deno.listen({ transport: "unix", path });
      const conn = await listener.accept();
      if (ping) {
        const buf = new Uint8Array(8);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          for (let put = 0; put < n;) put += await conn.write(buf.subarray(put, n));
        }
      } else {
        try {
          for (let sent = 0; sent < total;) sent += await conn.write(src);
        } catch { /* the reader left */ }
      }
      conn.close();
      listener.close();
      return;
    }
    const conn = await retry(() => Deno.connect({ transport: "unix", path }));
    const buf = new Uint8Array(ping ? 8 : MIB);
    if (ping) {
      await pingLoop(async () => {
        await conn.write(buf);
        for (let got = 0; got < 8;) got += (await conn.read(buf.subarray(got))) ?? 0;
      });
    } else {
      await tputLoop(async () => {
        for (let got = 0; got < MIB;) got += (await conn.read(buf.subarray(got))) ?? 0;
      });
    }
    conn.close();
    return;
  }
  if (runtime === "bun") {
    const Bun = g.Bun;
    if (side === "b") {
      await new Promise<void>((resolve) => {
        let sent = 0;
        const pump = (s: { write(b: Uint8Array): number; end(): void }) => {
          while (sent < total) {
            const n = s.write(src.subarray(sent % MIB));
            sent += n;
            if (n === 0 || sent % MIB !== 0) return;
          }
        };
        const server = Bun.listen({
          unix: path,
          socket: {
            open(s: { write(b: Uint8Array): number; end(): void }) {
              if (!ping) pump(s);
            },
            data(s: { write(b: Uint8Array): number }, d: Uint8Array) {
              if (ping) s.write(d);
            },
            drain(s: { write(b: Uint8Array): number; end(): void }) {
              if (!ping) pump(s);
            },
            close() {
              server.stop(true);
              resolve();
            },
            error() {},
          },
        });
      });
      return;
    }
    let waiting: (() => void) | undefined;
    let have = 0;
    const socket = await retry(() =>
      Bun.connect({
        unix: path,
        socket: {
          data(_s: unknown, d: Uint8Array) {
            have += d.length;
            const w = waiting;
            if (w) w();
          },
        },
      })
    );
    const need = (n: number) =>
      new Promise<void>((resolve) => {
        if (have >= n) {
          have -= n;
          return resolve();
        }
        waiting = () => {
          if (have >= n) {
            have -= n;
            waiting = undefined;
            resolve();
          }
        };
      });
    const buf = new Uint8Array(8);
    if (ping) {
      await pingLoop(() => {
        socket.write(buf);
        return need(8);
      });
    } else {
      await tputLoop(() => need(MIB));
    }
    socket.end();
    return;
  }
  // node:net
  if (side === "b") {
    await new Promise<void>((resolve) => {
      const server = net.createServer((s) => {
        s.on("error", () => {});
        s.on("close", () => {
          server.close();
          resolve();
        });
        if (ping) {
          s.on("data", (d) => s.write(d));
        } else {
          let sent = 0;
          const pump = () => {
            while (sent < total) {
              sent += MIB;
              if (!s.write(src)) return s.once("drain", pump);
            }
          };
          pump();
        }
      });
      server.listen(path);
    });
    return;
  }
  const socket = await retry(() =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection(path, () => resolve(s));
      s.once("error", reject);
    })
  );
  let have = 0;
  let waiting: (() => void) | undefined;
  socket.on("data", (d) => {
    have += d.length;
    waiting?.();
  });
  const need = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (have < n) return;
        have -= n;
        waiting = undefined;
        resolve();
      };
      waiting = check;
      check();
    });
  const buf = new Uint8Array(8);
  if (ping) {
    await pingLoop(() => {
      socket.write(buf);
      return need(8);
    });
  } else {
    await tputLoop(() => need(MIB));
  }
  socket.destroy();
}

async function retry<T>(connect: () => Promise<T> | T): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await connect();
    } catch (error) {
      if (i > 500) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
