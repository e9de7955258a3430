// Discovery: listServices() and `shmem ls` show publish-subscribe services with their live ports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { listServices, Publisher, RequestClient, RequestServer, Segment, Subscriber } from "../mod.ts";
import { OS, ROOT, testName } from "./helpers.ts";

const linux = OS === "linux";
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const node = fileURLToPath(new URL("../node_modules/.bin/node", import.meta.url));

test("listServices: kind, version, capacity, payload and live counts; plain and corrupt segments are left out", {
  skip: !linux && "segments are listed on Linux only",
}, () => {
  const name = testName();
  const plain = Segment.create(`${name}_plain`, { size: 4096 });
  try {
    const pub = Publisher.create(name, { sampleSize: 1000, subscribers: 5 });
    const a = Subscriber.open(name);
    using _b = Subscriber.open(name);
    const find = () => listServices().find((s) => s.name === name);
    const { size, ...info } = find()!;
    assert.deepEqual(info, {
      name,
      kind: "publish-subscribe",
      version: 3,
      capacity: 5,
      payloadBytes: 1000,
      live: { publishers: 1, subscribers: 2 },
    });
    assert.ok(size >= 64 + pub.layout.samples * 1024, `${size} bytes hold every sample`);
    assert.equal(listServices().some((s) => s.name === `${name}_plain`), false);
    a.close();
    assert.deepEqual(find()?.live, { publishers: 1, subscribers: 1 });

    const r = spawnSync(node, ["--no-warnings", CLI, "ls"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^SERVICE\s+KIND\s+VERSION\s+CAPACITY\s+PAYLOAD\s+LIVE$/m);
    assert.match(
      r.stdout,
      new RegExp(`^${name}\\s+publish-subscribe\\s+3\\s+5\\s+1000 B\\s+1 publishers, 1 subscribers$`, "m"),
    );
    const json = spawnSync(node, ["--no-warnings", CLI, "ls", "--json"], { cwd: ROOT, encoding: "utf8" });
    const entries = JSON.parse(json.stdout) as { name: string; service: { capacity: number } | null }[];
    assert.equal(entries.find((e) => e.name === name)?.service?.capacity, 5);
    assert.equal(entries.find((e) => e.name === `${name}_plain`)?.service, null);

    using raw = Segment.open(name);
    raw.region(64, 4).array(Int32Array)[0] = 99; // 99 subscriber slots: not a layout any publisher writes
    assert.equal(find(), undefined);
    raw.region(64, 4).array(Int32Array)[0] = 5;
    pub.close();
    assert.equal(find(), undefined, "closed: the name is gone");
  } finally {
    plain.close();
    plain.unlink();
  }
});

test("listServices: a request-response service with its clients, and gone once closed", {
  skip: !linux && "segments are listed on Linux only",
}, () => {
  const name = testName();
  const server = RequestServer.serve(name, { clients: 3, requestSize: 512, responseSize: 64 });
  try {
    const client = RequestClient.connect(name);
    const { size: _size, ...info } = listServices().find((s) => s.name === name)!;
    assert.deepEqual(info, {
      name,
      kind: "request-response",
      version: 1,
      capacity: 3,
      payloadBytes: 512,
      live: { servers: 1, clients: 1 },
    });
    client.close();
  } finally {
    server.close();
  }
  assert.equal(listServices().find((s) => s.name === name), undefined);
});
