// One side of a publish-subscribe benchmark, in any runtime; bench/pubsub.bench.ts runs them.
// Usage: <runtime> bench/pubsub_peer.ts <case> <side> <name> <arg> [<socket-path-prefix>]
//   ps-ping a|b <name> <bytes> [keep]  ping-pong over two services (<name>_ping from a to b, <name>_pong back): loan,
//                                write the first byte, publish; receive, read the first byte, release. Side a
//                                prints { samples }: µs per round trip, one sample per batch of 32. "keep": both
//                                ports made with detach: false (views are not detached per sample).
//   ps-fan pub|sub <name> <subs> one publisher, <subs> subscribers of 1 MiB samples (block policy): the publisher
//                                writes the first byte of each; a subscriber reads it and releases. Each subscriber
//                                prints { samples }: samples/s it received, one sample per batch of 32.
//   sock-fan pub|sub <name> <i|subs> <path>  the same over one Unix socket per subscriber (node:net in every
//                                runtime): the publisher writes each 1 MiB message to every socket.
import { Publisher, ShmError, Subscriber } from "../mod.ts";
import * as net from "node:net";
import { BATCH, pingLoop } from "./ping_loop.ts";

const [kind, side, name, arg, path] = process.argv.slice(2);
const MIB = 1 << 20;
const FAN_SAMPLES = 30;
const FAN_WARMUP = 64;
const FAN_TOTAL = FAN_WARMUP + BATCH * FAN_SAMPLES;
const now = () => performance.now();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function print(samples: number[]): void {
  console.log(JSON.stringify({ samples }));
}

async function join(service: string, detach = true): Promise<Subscriber> {
  for (let i = 0;; i++) {
    try {
      return Subscriber.open(service, { detach });
    } catch (error) {
      if (i > 2000) throw error;
      await pause(5);
    }
  }
}

const gone = (error: unknown) => error instanceof ShmError && error.code === "ERR_PUBLISHER_GONE";

if (kind === "ps-ping") {
  const size = Number(arg);
  const [mine, theirs] = side === "a" ? ["_ping", "_pong"] : ["_pong", "_ping"];
  const detach = path !== "keep";
  const pub = Publisher.create(name + mine, { sampleSize: size, subscribers: 1, depth: 2, detach });
  const sub = await join(name + theirs, detach);
  while (pub.subscribers === 0) await pause(1);
  const send = (v: number) => {
    const s = pub.loan();
    s.bytes[0] = v;
    s.publish();
  };
  if (side === "a") {
    await pingLoop((i) => {
      send(i & 255);
      sub.receive()!.release();
    });
  } else {
    try {
      for (;;) {
        const got = sub.receive()!;
        const v = got.bytes[0];
        got.release();
        send(v);
      }
    } catch (error) {
      if (!gone(error)) throw error;
    }
  }
  pub.close();
  sub.close();
} else if (kind === "ps-fan") {
  if (side === "pub") {
    using pub = Publisher.create(name, { sampleSize: MIB, subscribers: Number(arg), depth: 4 });
    while (pub.subscribers < Number(arg)) await pause(1);
    for (let i = 0; i < FAN_TOTAL; i++) {
      const s = pub.loan();
      s.bytes[0] = i & 255;
      s.publish();
    }
    while (pub.subscribers > 0) await pause(1);
  } else {
    const sub = await join(name);
    const samples: number[] = [];
    const one = () => {
      const got = sub.receive()!;
      if (got.bytes.length !== MIB) throw new Error("short sample");
      got.release();
    };
    for (let i = 0; i < FAN_WARMUP; i++) one();
    for (let s = 0; s < FAN_SAMPLES; s++) {
      const t0 = now();
      for (let k = 0; k < BATCH; k++) one();
      samples.push(BATCH / ((now() - t0) / 1000));
    }
    sub.close();
    print(samples);
  }
} else if (kind === "sock-fan") {
  if (side === "pub") {
    const subs = Number(arg);
    const sockets = await Promise.all(
      Array.from({ length: subs }, (_, i) => connect(`${path}.${i}`)),
    );
    const message = new Uint8Array(MIB).fill(7);
    for (let i = 0; i < FAN_TOTAL; i++) {
      message[0] = i & 255;
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.write(message) ? r() : s.once("drain", r))));
    }
    for (const s of sockets) s.end();
  } else {
    await new Promise<void>((resolve) => {
      const server = net.createServer((s) => {
        let have = 0;
        let count = 0;
        let t0 = 0;
        const samples: number[] = [];
        s.on("data", (d: Uint8Array) => {
          have += d.length;
          while (have >= MIB) {
            have -= MIB;
            count++;
            if (count === FAN_WARMUP) t0 = now();
            else if (count > FAN_WARMUP && (count - FAN_WARMUP) % BATCH === 0) {
              const t = now();
              samples.push(BATCH / ((t - t0) / 1000));
              t0 = t;
            }
          }
        });
        s.on("close", () => {
          server.close();
          print(samples);
          resolve();
        });
      });
      server.listen(`${path}.${arg}`);
    });
  }
} else {
  console.error(`unknown case ${kind}`);
  process.exit(2);
}

async function connect(at: string): Promise<net.Socket> {
  for (let i = 0;; i++) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.createConnection(at, () => resolve(s));
        s.once("error", reject);
      });
    } catch (error) {
      if (i > 500) throw error;
      await pause(10);
    }
  }
}
