/**
 * The packet engine between two network namespaces: a culvert peer in each, a TUN
 * on each side (inner 198.19.0.1 <-> 198.19.0.2) and the tunnel over a veth
 * (198.18.0.1 <-> 198.18.0.2). A UDP echo in "b" answers datagrams sent from "a"
 * through the tunnel, so every echo crossed TUN -> socket -> socket -> TUN both ways.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { NetnsPair, type Child } from './helpers/netns.js';

const PEER = fileURLToPath(new URL('./fixtures/peer.js', import.meta.url));
const ENV = { CULVERT_FIXTURE: '1' };

interface Ends { net: NetnsPair; a: Child; b: Child }

async function tunnel(tag: string, transport: 'udp' | 'gre', batch: number, opts: { worker?: boolean; a?: Record<string, unknown> } = {}): Promise<Ends> {
  const net = NetnsPair.create(tag);
  try {
    const args = opts.worker ? ['--worker'] : [];
    const a = net.spawn(net.a, PEER, args, ENV);
    const b = net.spawn(net.b, PEER, args, ENV);
    await a.call({ cmd: 'setup', transport, batch, local: '198.18.0.1', peer: '198.18.0.2', inner: '198.19.0.1',
      innerPeer: '198.19.0.2', tunName: 'cvt%d', id: 100, peerId: 200, ...opts.a });
    await b.call({ cmd: 'setup', transport, batch, local: '198.18.0.2', peer: '198.18.0.1', inner: '198.19.0.2',
      innerPeer: '198.19.0.1', tunName: 'cvt%d', id: 200, peerId: 100 });
    await b.call({ cmd: 'echo', address: '198.19.0.2', port: 7000 });
    return { net, a, b };
  } catch (e) {
    net.destroy();
    throw e;
  }
}

async function burst(a: Child, n: number, size = 64): Promise<{ sent: number; echoed: number }> {
  const r = await a.call({ cmd: 'burst', n, size, src: '198.19.0.1', dst: '198.19.0.2', port: 7000, timeoutMs: 5000 });
  return { sent: r.sent as number, echoed: r.echoed as number };
}

for (const transport of ['udp', 'gre'] as const) {
  for (const batch of [1, 64]) {
    test(`${transport}: packets cross TUN -> tunnel -> TUN both ways with batch ${batch}`, async () => {
      const { net, a, b } = await tunnel(`${transport[0]}${batch}`, transport, batch);
      try {
        // Warm-up: one packet also resolves nothing (point-to-point TUN needs no ARP).
        assert.deepEqual(await burst(a, 1), { sent: 1, echoed: 1 });
        // Hold the TUN while 64 packets queue in the kernel, then read them in one wake-up.
        await a.call({ cmd: 'resetMax' });
        await a.call({ cmd: 'pauseTun' });
        const p = burst(a, 64, 200);
        await new Promise((r) => setTimeout(r, 300));
        await a.call({ cmd: 'resumeTun' });
        assert.deepEqual(await p, { sent: 64, echoed: 64 });
        const sa = await a.call({ cmd: 'stats' });
        const sb = await b.call({ cmd: 'stats' });
        assert.equal(sa.maxTunBatch, batch, 'largest TUN read batch equals the configured batch');
        assert.ok((sa.session as { txPackets: number }).txPackets >= 65);
        assert.ok((sa.session as { rxPackets: number }).rxPackets >= 65);
        assert.ok((sb.session as { rxPackets: number }).rxPackets >= 65);
        assert.equal((sb.engine as { malformed: number }).malformed, 0);
        // The 64 same-size datagrams of one flow reached b's TUN as coalesced (UDP GSO) writes
        // and were all echoed, so the kernel cut them back correctly.
        if (batch === 64) assert.ok((sb.tun as { txGsoBatches: number }).txGsoBatches > 0, 'coalesced TUN writes on the receiver');
        if (batch === 1) assert.equal(sb.maxSockBatch, 1);
        // A PPP control frame goes to the protocol layer callback on the other side.
        await a.call({ cmd: 'sendControl' });
        await new Promise((r) => setTimeout(r, 200));
        assert.equal((await b.call({ cmd: 'stats' })).controlFrames, 1);
        await a.call({ cmd: 'exit', closeFirst: true });
        await b.call({ cmd: 'exit', closeFirst: true });
        assert.equal(await a.exited, 0);
        assert.equal(await b.exited, 0);
      } finally {
        net.destroy();
      }
    });
  }
}

// Receiver in netns b: a TCP server that prints the SHA-256 and length of what it got.
const TCP_SINK = `const c=require('crypto'),h=c.createHash('sha256');let n=0;require('net').createServer(s=>{s.on('data',d=>{h.update(d);n+=d.length});s.on('end',()=>{process.stdout.write(h.digest('hex')+' '+n+'\\n');process.exit(0)})}).listen(7100,'198.19.0.2',()=>process.stdout.write('ready\\n'))`;
// Sender in netns a: 8 MiB of seeded bytes in large writes, so the kernel builds TCP super-packets.
const TCP_SRC = `const c=require('crypto'),b=Buffer.alloc(8<<20);for(let i=0;i<b.length;i+=32)c.createHash('sha256').update(String(i)).digest().copy(b,i);const s=require('net').connect(7100,'198.19.0.2',()=>{s.end(b)});s.on('close',()=>{process.stdout.write(c.createHash('sha256').update(b).digest('hex')+' '+b.length+'\\n')})`;

for (const transport of ['udp', 'gre'] as const) {
  test(`${transport}: a TCP stream arrives intact; the sending TUN hands over super-packets (TSO) cut into segments here, the receiving TUN takes runs of segments as one GSO write`, async () => {
    const { net, a, b } = await tunnel(`${transport[0]}tso`, transport, 64);
    const run = (ns: string, js: string): { out: Promise<string>; ready: Promise<void>; kill: () => void } => {
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buf = '';
      let onReady: () => void = () => {};
      const ready = new Promise<void>((r) => (onReady = r));
      p.stdout!.on('data', (d: Buffer) => { buf += d.toString(); if (buf.includes('ready')) onReady(); });
      const out = new Promise<string>((res, rej) => p.on('exit', (code) => (code === 0 ? res(buf.replace('ready\n', '').trim()) : rej(new Error(`exit ${code}: ${buf}`)))));
      return { out, ready, kill: () => { if (p.exitCode === null && p.pid) process.kill(p.pid, 'SIGKILL'); } };
    };
    const sink = run(net.b, TCP_SINK);
    let src: ReturnType<typeof run> | undefined;
    try {
      await sink.ready;
      src = run(net.a, TCP_SRC);
      const [sent, got] = await Promise.all([src.out, sink.out]);
      assert.equal(got, sent, 'same bytes on both ends (every segment passed the receiver\'s TCP checksum)');
      const sa = await a.call({ cmd: 'stats' });
      const tun = sa.tun as { rxTsoPackets: number; rxErrors: number };
      assert.ok(tun.rxTsoPackets > 0, `the sender's TUN delivered super-packets (${tun.rxTsoPackets})`);
      assert.equal(tun.rxErrors, 0);
      // The receiver wrote runs of one flow's segments to its TUN as single GSO packets.
      const tb = (await b.call({ cmd: 'stats' })).tun as { txGsoBatches: number; txErrors: number };
      assert.ok(tb.txGsoBatches > 0, `the receiver's TUN took coalesced writes (${tb.txGsoBatches})`);
      assert.equal(tb.txErrors, 0);
    } finally {
      sink.kill();
      src?.kill();
      a.kill();
      b.kill();
      net.destroy();
    }
  });
}

test('a TUN deleted mid-stream (ip link del) leaves the engine running', async () => {
  const { net, a, b } = await tunnel('del', 'udp', 64);
  try {
    assert.equal((await burst(a, 20)).echoed, 20);
    // Delete b's TUN while a floods packets at it, so writes into the TUN are in flight.
    const flood = a.call({ cmd: 'flood', ms: 1000, size: 500, src: '198.19.0.1', dst: '198.19.0.2', port: 7000 }, 20000);
    await new Promise((r) => setTimeout(r, 300));
    const del = await b.call({ cmd: 'delTun' });
    assert.equal(del.down, true, 'the session is told its TUN went down');
    assert.ok(((await flood).sent as number) > 0);
    // Traffic towards the dead TUN is dropped, nothing crashes.
    assert.equal((await a.call({ cmd: 'burst', n: 5, src: '198.19.0.1', dst: '198.19.0.2', port: 7000, timeoutMs: 500 })).echoed, 0);
    const st = await b.call({ cmd: 'stats' });
    assert.equal((st.sock as { down: boolean }).down, false, 'the tunnel socket is still up');
    // A new TUN on the same session carries traffic again.
    await b.call({ cmd: 'newTun' });
    assert.equal((await burst(a, 20)).echoed, 20);
    await a.call({ cmd: 'exit', closeFirst: true });
    await b.call({ cmd: 'exit', closeFirst: true });
    assert.equal(await b.exited, 0);
  } finally {
    net.destroy();
  }
});

test('a flood into a slow link drops and counts instead of growing memory', async () => {
  // Small send buffer + a 1 Mbit/s veth: the kernel pushes back (EAGAIN) almost at once.
  const { net, a } = await tunnel('flood', 'udp', 64, { a: { sendBuffer: 8192, queue: 128 } });
  try {
    const { execFileSync } = await import('node:child_process');
    execFileSync('ip', ['netns', 'exec', net.a, 'tc', 'qdisc', 'add', 'dev', 'veth0', 'root', 'tbf', 'rate', '1mbit', 'burst', '16kb', 'limit', '64kb']);
    const before = await a.call({ cmd: 'stats' });
    await a.call({ cmd: 'flood', ms: 1500, size: 1200, src: '198.19.0.1', dst: '198.19.0.2', port: 7000 }, 20000);
    const mid = await a.call({ cmd: 'stats' });
    await a.call({ cmd: 'flood', ms: 1500, size: 1200, src: '198.19.0.1', dst: '198.19.0.2', port: 7000 }, 20000);
    const after = await a.call({ cmd: 'stats' });
    const sock = after.sock as { txDropped: number; queueLength: number; txQueued: number };
    assert.ok(sock.txDropped > 0, `send queue dropped (${JSON.stringify(sock)})`);
    assert.ok(sock.queueLength <= 128, 'queue stays within its bound');
    // The second flood second must not grow memory like the first did: bounded, not leaking per packet.
    const grow1 = (mid.rss as number) - (before.rss as number);
    const grow2 = (after.rss as number) - (mid.rss as number);
    assert.ok(grow2 < 32 * 1024 * 1024, `rss grew ${grow2} bytes in the second flood (first: ${grow1})`);
    await a.call({ cmd: 'exit', closeFirst: true });
  } finally {
    net.destroy();
  }
});

for (const closeFirst of [true, false]) {
  test(`the engine runs in a worker_thread and shuts down cleanly (${closeFirst ? 'closed' : 'left open: env cleanup hook'})`, async () => {
    const { net, a, b } = await tunnel(`wk${closeFirst ? 'c' : 'o'}`, 'gre', 64, { worker: true });
    try {
      assert.deepEqual(await burst(a, 64), { sent: 64, echoed: 64 });
      const r = await a.call({ cmd: 'exit', closeFirst });
      assert.equal(r.workerExit, 1, 'worker.terminate() resolves with exit code 1');
      assert.equal(await a.exited, 0, `process exits normally, no abort; stderr: ${a.stderr}`);
      await b.call({ cmd: 'exit', closeFirst: true });
      assert.equal(await b.exited, 0);
    } finally {
      net.destroy();
    }
  });
}
