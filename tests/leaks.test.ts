import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { Segment, ShmError } from "../mod.ts";
import { child, have, ok, OS, run, runAsync, RUNTIMES, shmExists, testName } from "./helpers.ts";
import { start } from "./live_child.ts";
import { listSysvSegments, parseSysvTable } from "../posix/sysv_list.ts";

const linux = OS === "linux";
const names = (list: { name: string }[]) => list.map((s) => s.name).sort();
const next = (i: number) => RUNTIMES[(i + 1) % RUNTIMES.length];

function cleanup(...list: string[]): void {
  for (const name of list) rmSync(`/dev/shm/${name}`, { force: true, recursive: true });
}

test("list reports segments with size, mode, owner, holder and tracking", { skip: !linux }, () => {
  const name = testName();
  const seg = Segment.create(name, { size: 8192, mode: 0o640 });
  try {
    const info = Segment.list().find((s) => s.name === name);
    assert.ok(info, "listed");
    assert.equal(info.size, 8192);
    assert.equal(info.mode, 0o640);
    assert.equal(info.uid, process.getuid!());
    assert.ok(info.changed instanceof Date && Math.abs(info.changed.getTime() - Date.now()) < 3_600_000);
    assert.equal(info.held, true);
    assert.equal(info.tracked, true);
    assert.ok(info.created instanceof Date);
    assert.equal(info.creatorPid, process.pid);
    seg.close();
    assert.equal(Segment.list().find((s) => s.name === name)?.held, false);
  } finally {
    seg.close();
    Segment.unlink(name);
  }
});

test("list leaves out semaphores, directories and symlinks; foreign files are untracked", { skip: !linux }, () => {
  const plain = testName();
  const sem = `sem.${testName()}`;
  const dir = testName();
  const link = testName();
  writeFileSync(`/dev/shm/${plain}`, new Uint8Array(100));
  writeFileSync(`/dev/shm/${sem}`, new Uint8Array(32));
  mkdirSync(`/dev/shm/${dir}`);
  symlinkSync(`/dev/shm/${plain}`, `/dev/shm/${link}`);
  try {
    const listed = names(Segment.list());
    assert.ok(listed.includes(plain));
    for (const hidden of [sem, dir, link]) assert.ok(!listed.includes(hidden), `${hidden} is not a segment`);
    const info = Segment.list().find((s) => s.name === plain)!;
    assert.equal(info.size, 100);
    assert.equal(info.tracked, false);
    assert.equal(info.held, false);
    assert.equal(info.created, undefined);
    assert.deepEqual(Segment.collect({ graceMs: 0, prefix: plain }), []);
    assert.ok(shmExists(plain));
  } finally {
    unlinkSync(`/dev/shm/${link}`);
    rmdirSync(`/dev/shm/${dir}`);
    cleanup(plain, sem);
  }
});

test(
  "collect removes an orphan once, keeps held, untracked and recent ones; dryRun removes nothing",
  { skip: !linux },
  () => {
    const prefix = testName();
    const orphan = `${prefix}_orphan`;
    const held = `${prefix}_held`;
    const untracked = `${prefix}_untracked`;
    Segment.create(orphan, { size: 4096 }).close();
    Segment.create(untracked, { size: 4096, track: false }).close();
    const live = Segment.create(held, { size: 4096 });
    try {
      assert.deepEqual(Segment.collect({ prefix }), [], "within the default 10 s grace period");
      assert.deepEqual(names(Segment.collect({ prefix, graceMs: 0, dryRun: true })), [orphan]);
      assert.ok(shmExists(orphan));
      const removed = Segment.collect({ prefix, graceMs: 0 });
      assert.deepEqual(names(removed), [orphan]);
      assert.equal(removed[0].tracked, true);
      assert.equal(shmExists(orphan), false);
      assert.ok(shmExists(held) && shmExists(untracked));
      assert.deepEqual(Segment.collect({ prefix, graceMs: 0 }), []);
      live.close();
      assert.deepEqual(names(Segment.collect({ prefix, graceMs: 0 })), [held]);
    } finally {
      live.close();
      cleanup(orphan, held, untracked);
    }
  },
);

test("collect validates its options before touching anything", () => {
  assert.throws(() => Segment.collect("x" as never), TypeError);
  assert.throws(() => Segment.collect({ graceMs: -1 }), /graceMs.*-1/);
  assert.throws(() => Segment.collect({ graceMs: "1" as never }), TypeError);
  assert.throws(() => Segment.collect({ dryRun: 1 as never }), TypeError);
  assert.throws(() => Segment.collect({ prefix: 3 as never }), TypeError);
  assert.throws(() => Segment.create(testName(), { size: 1, unlinkOnExit: "yes" as never }), TypeError);
  assert.throws(() => Segment.create(testName(), { size: 1, track: 0 as never }), TypeError);
});

for (const [i, runtime] of RUNTIMES.entries()) {
  test(`${runtime}: a SIGKILLed holder leaves a collectable orphan; a live ${next(i)} holder keeps it`, {
    skip: !linux,
  }, async () => {
    const name = testName();
    const creator = start(runtime, child("hold.ts"), [name, "create"]);
    let opener: ReturnType<typeof start> | undefined;
    try {
      await creator.ready;
      opener = start(next(i), child("hold.ts"), [name, "open"]);
      await opener.ready;
      assert.deepEqual(Segment.collect({ prefix: name, graceMs: 0 }), []);
      creator.process.kill("SIGKILL");
      assert.equal((await creator.ended).signal, "SIGKILL");
      assert.equal(Segment.list().find((s) => s.name === name)?.held, true, "still held by the other runtime");
      assert.deepEqual(Segment.collect({ prefix: name, graceMs: 0 }), []);
      assert.ok(shmExists(name));
      opener.process.kill("SIGKILL");
      await opener.ended;
      assert.equal(Segment.list().find((s) => s.name === name)?.held, false);
      assert.deepEqual(names(Segment.collect({ prefix: name, graceMs: 0 })), [name]);
      assert.equal(shmExists(name), false);
    } finally {
      creator.process.kill("SIGKILL");
      opener?.process.kill("SIGKILL");
      cleanup(name);
    }
  });
}

test("a segment Python created is listed but never collected", { skip: !linux || !have("python3") }, () => {
  const name = testName();
  const script = [
    "from multiprocessing import shared_memory as s, resource_tracker as r",
    `m = s.SharedMemory(name=${JSON.stringify(name)}, create=True, size=4096)`,
    "m.buf[0] = 7",
    "r.unregister(m._name, 'shared_memory')",
    "m.close()",
  ].join("\n");
  const r = spawnSync("python3", ["-c", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  try {
    const info = Segment.list().find((s) => s.name === name);
    assert.ok(info);
    assert.equal(info.size, 4096);
    assert.equal(info.tracked, false);
    assert.deepEqual(Segment.collect({ prefix: name, graceMs: 0 }), []);
    assert.ok(shmExists(name));
    const seg = Segment.open(name);
    assert.equal(seg.bytes()[0], 7);
    seg.close();
    assert.deepEqual(Segment.collect({ prefix: name, graceMs: 0 }), []);
    assert.ok(shmExists(name));
  } finally {
    cleanup(name);
  }
});

test("collectors racing in three runtimes remove each orphan once and nothing else", { skip: !linux }, async () => {
  const prefix = testName();
  const orphans = Array.from({ length: 12 }, (_, i) => `${prefix}_o${i}`);
  for (const name of orphans) Segment.create(name, { size: 4096 }).close();
  const kept = Segment.create(`${prefix}_held`, { size: 4096 });
  Segment.create(`${prefix}_untracked`, { size: 4096, track: false }).close();
  try {
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all(RUNTIMES.map((r) => runAsync(r, child("collect.ts"), [prefix, startAt])));
    const removed = results.map((r, i) => JSON.parse(ok(r, `collector ${RUNTIMES[i]}`).trim()) as string[]);
    const all = removed.flat().sort();
    assert.deepEqual(all, [...orphans].sort(), `each orphan exactly once: ${JSON.stringify(removed)}`);
    for (const name of orphans) assert.equal(shmExists(name), false);
    assert.ok(shmExists(`${prefix}_held`));
    assert.ok(shmExists(`${prefix}_untracked`));
  } finally {
    kept.close();
    cleanup(...orphans, `${prefix}_held`, `${prefix}_untracked`);
  }
});

for (const [i, runtime] of RUNTIMES.entries()) {
  test(`${runtime} opener racing a ${next(i)} collector: never holds a removed segment, never loses one it holds`, {
    skip: !linux,
  }, async () => {
    const prefix = testName();
    const count = 40;
    const orphans = Array.from({ length: count }, (_, k) => `${prefix}_o${k}`);
    for (const name of orphans) Segment.create(name, { size: 4096 }).close();
    const startAt = String(Date.now() + 1500);
    const opener = start(runtime, child("opener.ts"), [prefix, String(count), startAt]);
    try {
      const collector = await runAsync(next(i), child("collect.ts"), [prefix, startAt]);
      const removed = JSON.parse(ok(collector, "collector").trim()) as string[];
      await opener.ready;
      const heldNow = orphans.filter((name) => Segment.list().find((s) => s.name === name)?.held);
      for (const name of orphans) assert.equal(shmExists(name), !removed.includes(name), name);
      assert.deepEqual([...removed, ...heldNow].sort(), [...orphans].sort(), "each orphan removed or held, not both");
      opener.process.stdin!.end();
      const r = await opener.ended;
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout.split("\n")[0]) as string[]).sort(), heldNow.sort());
    } finally {
      opener.process.kill("SIGKILL");
      cleanup(...orphans);
    }
  });
}

for (const runtime of RUNTIMES) {
  for (const how of ["SIGINT", "SIGTERM"] as const) {
    test(`${runtime}: unlinkOnExit removes the name on ${how}`, { skip: !linux }, async () => {
      const name = testName();
      const c = start(runtime, child("exit.ts"), [name, "wait"]);
      try {
        await c.ready;
        assert.ok(shmExists(name));
        c.process.kill(how);
        const r = await c.ended;
        const code = how === "SIGINT" ? 130 : 143;
        assert.ok(r.signal === how || r.status === code, `ended by ${how}: ${JSON.stringify(r)}`);
        assert.equal(shmExists(name), false);
      } finally {
        c.process.kill("SIGKILL");
        cleanup(name);
      }
    });
  }

  test(`${runtime}: unlinkOnExit removes the name on a normal exit and after an uncaught error`, {
    skip: !linux,
  }, () => {
    const name = testName();
    try {
      ok(run(runtime, child("exit.ts"), [name, "normal"]));
      assert.equal(shmExists(name), false);
      const r = run(runtime, child("exit.ts"), [name, "throw"]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /planned failure/);
      assert.equal(shmExists(name), false);
    } finally {
      cleanup(name);
    }
  });

  test(`${runtime}: unlinkOnExit never removes a new segment that reused the name`, { skip: !linux }, async () => {
    const name = testName();
    const c = start(runtime, child("exit.ts"), [name, "stdin"]);
    let replacement: Segment | undefined;
    try {
      await c.ready;
      Segment.unlink(name);
      replacement = Segment.create(name, { size: 4096 });
      c.process.stdin!.end();
      const r = await c.ended;
      assert.equal(r.status, 0, r.stderr);
      assert.ok(shmExists(name), "the new segment survives");
    } finally {
      c.process.kill("SIGKILL");
      replacement?.close();
      cleanup(name);
    }
  });
}

test("seg.unlink() cancels unlinkOnExit; errors are ShmErrors", { skip: !linux }, () => {
  const name = testName();
  const seg = Segment.create(name, { size: 4096, unlinkOnExit: true });
  seg.unlink();
  seg.close();
  assert.throws(() => Segment.unlink(name), (e: unknown) => e instanceof ShmError && e.code === "ENOENT");
});

test("System V listing parses /proc/sysvipc/shm and finds a live segment", { skip: !linux }, () => {
  const table = [
    "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap",
    "  12345678         42  1600                 65536  100   101      2     0     0     0     0          0          0 1700000000                 4096                     0",
  ].join("\n");
  const [r] = parseSysvTable(table);
  assert.deepEqual({ ...r, changed: r.changed.getTime() }, {
    key: 12345678,
    id: 42,
    mode: 0o600,
    removed: true,
    size: 65536,
    creatorPid: 100,
    lastPid: 101,
    attachments: 2,
    uid: 0,
    gid: 0,
    changed: 1700000000000,
  });
  assert.ok(Array.isArray(listSysvSegments()));
  if (!have("gcc")) return;
  const dir = `/tmp/shmem-sysv-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(
      `${dir}/make.c`,
      '#include <sys/shm.h>\n#include <stdio.h>\nint main(){int id=shmget(IPC_PRIVATE,12288,0600|IPC_CREAT);printf("%d\\n",id);return id<0;}\n',
    );
    assert.equal(spawnSync("gcc", [`${dir}/make.c`, "-o", `${dir}/make`]).status, 0);
    const made = spawnSync(`${dir}/make`, [], { encoding: "utf8" });
    assert.equal(made.status, 0);
    const id = Number(made.stdout.trim());
    try {
      const found = listSysvSegments().find((s) => s.id === id);
      assert.ok(found);
      assert.equal(found.size, 12288);
      assert.equal(found.mode, 0o600);
      assert.equal(found.attachments, 0);
      assert.equal(found.removed, false);
    } finally {
      spawnSync("ipcrm", ["-m", String(id)]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
