/**
 * The addon's channels on their own: UDP datagrams with source address/port (what
 * L2TP control needs on the shared port), raw GRE with the IP header in front,
 * typed errors for bad input, busy ports and missing capabilities. Loopback only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RawSocket, TunDevice, UdpSocket, capabilities, ipv4ToU32, u32ToIpv4 } from '../../src/io/native.js';
import { ConfigError, IoError } from '../../src/errors.js';

function nextBatch(ch: UdpSocket | RawSocket): Promise<number> {
  return new Promise((res) => { ch.onBatch = (n) => res(n); });
}

test('UDP: single datagrams with address both ways; rxMeta names the sender', async () => {
  const a = UdpSocket.open(0, { address: '127.0.0.1' });
  const b = UdpSocket.open(0, { address: '127.0.0.1', batch: 8 });
  try {
    assert.ok(a.port > 0 && b.port > 0 && a.port !== b.port);
    const got = nextBatch(b);
    const msg = new TextEncoder().encode('SCCRQ-ish control message');
    assert.equal(a.sendTo(msg, '127.0.0.1', b.port), 1);
    assert.equal(await got, 1);
    const [off, len, addr, port] = b.rxMeta;
    assert.equal(Buffer.from(b.rx.subarray(off, off + len)).toString(), 'SCCRQ-ish control message');
    assert.equal(u32ToIpv4(addr), '127.0.0.1');
    assert.equal(port, a.port);
    assert.equal(off % b.slot, b.headroom, 'packets land after the headroom');
    // Reply to whoever sent it, from the same socket.
    const back = nextBatch(a);
    b.sendOne(b.rx, off, len, addr, port);
    assert.equal(await back, 1);
    assert.equal(a.rxMeta[3], b.port);
    const st = b.stats();
    assert.equal(st.rxPackets, 1);
    assert.equal(st.txPackets, 1);
    assert.equal(st.down, false);
  } finally {
    a.close();
    b.close();
  }
});

test('UDP: a batch send keeps datagram boundaries and order; a batch read returns up to `batch`', async () => {
  const a = UdpSocket.open(0, { address: '127.0.0.1' });
  const b = UdpSocket.open(0, { address: '127.0.0.1', batch: 64 });
  try {
    b.pause();
    const buf = new Uint8Array(100 * 10);
    const meta = new Uint32Array(100 * 4);
    for (let i = 0; i < 100; i++) {
      buf.fill(i, i * 10, i * 10 + 1 + (i % 9));
      meta.set([i * 10, 1 + (i % 9), ipv4ToU32('127.0.0.1'), b.port], i * 4);
    }
    assert.equal(a.send(buf, meta, 100), 100);
    const seen: number[] = [];
    const sizes: number[] = [];
    await new Promise<void>((res) => {
      b.onBatch = (n) => {
        sizes.push(n);
        for (let i = 0; i < n; i++) {
          const off = b.rxMeta[i * 4];
          const len = b.rxMeta[i * 4 + 1];
          assert.equal(len, 1 + (b.rx[off] % 9));
          seen.push(b.rx[off]);
        }
        if (seen.length === 100) res();
      };
      b.resume();
    });
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(sizes.slice(0, 1), [64]);
    // A packet outside the buffer is refused before anything is sent.
    assert.throws(() => a.send(buf, new Uint32Array([990, 20, 0, 0]), 1), RangeError);
  } finally {
    a.close();
    b.close();
  }
});

test('UDP: runs of same-length datagrams to one peer go out with segmentation offload and arrive as the same datagrams, in order', async () => {
  const a = UdpSocket.open(0, { address: '127.0.0.1' });
  const b = UdpSocket.open(0, { address: '127.0.0.1', batch: 64 });
  const c = UdpSocket.open(0, { address: '127.0.0.1', batch: 64 });
  try {
    b.pause();
    c.pause();
    // 40 x 300 octets to b (one run), a shorter one ending the run, 20 x 300 to c, then
    // 39 of varying length to b: what a TUN batch of one TCP flow plus chatter looks like.
    const lens: number[] = [];
    const dst: UdpSocket[] = [];
    for (let i = 0; i < 40; i++) { lens.push(300); dst.push(b); }
    lens.push(120); dst.push(b);
    for (let i = 0; i < 20; i++) { lens.push(300); dst.push(c); }
    for (let i = 0; i < 39; i++) { lens.push(20 + (i % 7) * 40); dst.push(b); }
    const buf = new Uint8Array(100 * 320);
    const meta = new Uint32Array(100 * 4);
    for (let i = 0; i < 100; i++) {
      buf.fill(i, i * 320, i * 320 + lens[i]);
      meta.set([i * 320, lens[i], ipv4ToU32('127.0.0.1'), dst[i].port], i * 4);
    }
    assert.equal(a.send(buf, meta, 100), 100);
    const collect = (s: UdpSocket, want: number): Promise<Array<[number, number]>> => new Promise((res) => {
      const got: Array<[number, number]> = [];
      s.onBatch = (n) => {
        for (let i = 0; i < n; i++) {
          const off = s.rxMeta[i * 4];
          const len = s.rxMeta[i * 4 + 1];
          const first = s.rx[off];
          assert.ok(s.rx.subarray(off, off + len).every((x) => x === first), `datagram ${first} intact`);
          got.push([first, len]);
        }
        if (got.length >= want) res(got);
      };
      s.resume();
    });
    const [atB, atC] = await Promise.all([collect(b, 80), collect(c, 20)]);
    const expect = (d: UdpSocket): Array<[number, number]> => lens.flatMap((l, i) => (dst[i] === d ? [[i, l] as [number, number]] : []));
    assert.deepEqual(atB, expect(b));
    assert.deepEqual(atC, expect(c));
    const st = a.stats();
    assert.equal(st.txPackets, 100);
    assert.equal(st.txErrors, 0);
    assert.ok(st.txGsoBatches >= 2, `runs left as offloaded sends (${st.txGsoBatches})`);
    assert.ok(b.stats().rxGroBatches >= 1 && c.stats().rxGroBatches >= 1, 'runs arrived coalesced and were cut back into datagrams');
    assert.equal(b.stats().rxPackets, 80);
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

test('UDP: a coalesced run bigger than one read batch is delivered whole, also across pause() and resume()', async () => {
  const a = UdpSocket.open(0, { address: '127.0.0.1' });
  const b = UdpSocket.open(0, { address: '127.0.0.1', batch: 8 });
  try {
    b.pause();
    const buf = new Uint8Array(60 * 200);
    const meta = new Uint32Array(60 * 4);
    for (let i = 0; i < 60; i++) {
      buf.fill(i, i * 200, i * 200 + 200);
      meta.set([i * 200, 200, ipv4ToU32('127.0.0.1'), b.port], i * 4);
    }
    assert.equal(a.send(buf, meta, 60), 60);
    const seen: number[] = [];
    let paused = false;
    await new Promise<void>((res) => {
      b.onBatch = (n) => {
        assert.ok(n <= 8);
        for (let i = 0; i < n; i++) seen.push(b.rx[b.rxMeta[i * 4]]);
        if (seen.length === 60) res();
        else if (!paused && seen.length >= 16) {
          // Stop reading with most of the run still waiting in the addon, then go on later:
          // nothing new arrives on the socket, so only the addon's own wake-up can deliver it.
          paused = true;
          b.pause();
          setTimeout(() => b.resume(), 50);
        }
      };
      b.resume();
    });
    assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => i));
    assert.equal(b.stats().rxPackets, 60);
  } finally {
    a.close();
    b.close();
  }
});

test('raw GRE socket: received packets start with the IPv4 header, sent ones get it from the kernel', async () => {
  const r = RawSocket.open(47, { address: '127.0.0.1' });
  try {
    const got = nextBatch(r);
    // Enhanced GRE ack-only packet (RFC 2637 §4.1): K+A, protocol 0x880B, length 0, call 7, ack 5.
    const gre = Uint8Array.from([0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 5]);
    assert.equal(r.sendOne(gre, 0, gre.length, ipv4ToU32('127.0.0.1')), 1);
    assert.equal(await got, 1);
    const [off, len, addr] = r.rxMeta;
    const ihl = (r.rx[off] & 15) * 4;
    assert.equal(r.rx[off] >> 4, 4);
    assert.equal(r.rx[off + 9], 47, 'IP protocol field');
    assert.equal(len, ihl + gre.length);
    assert.deepEqual([...r.rx.subarray(off + ihl, off + len)], [...gre]);
    assert.equal(u32ToIpv4(addr), '127.0.0.1');
  } finally {
    r.close();
  }
});

test('bad input and busy resources give typed errors; a closed channel sends nothing', () => {
  assert.throws(() => TunDevice.open('no spaces allowed'), (e: unknown) => e instanceof IoError && e.code === 'IO_ERR_BAD_ARG');
  assert.throws(() => UdpSocket.open(0, { address: '300.1.1.1' }), (e: unknown) => e instanceof ConfigError);
  const a = UdpSocket.open(0, { address: '127.0.0.1' });
  try {
    assert.throws(() => UdpSocket.open(a.port, { address: '127.0.0.1' }), (e: unknown) => e instanceof IoError && e.code === 'IO_ERR_BUSY');
    assert.throws(() => UdpSocket.open(0, { address: '127.0.0.1', batch: 65 }), (e: unknown) => e instanceof IoError && e.code === 'IO_ERR_BAD_ARG');
  } finally {
    a.close();
  }
  assert.equal(a.isOpen, false);
  assert.equal(a.sendTo(new Uint8Array(4), '127.0.0.1', 9), 0);
  a.close(); // twice is fine
});

test('without CAP_NET_ADMIN / CAP_NET_RAW the error says which capability is missing', () => {
  assert.equal(capabilities().netAdmin, true, 'the test itself runs as root');
  const lib = fileURLToPath(new URL('../../src/io/native.js', import.meta.url));
  const script = `
    const m = await import(${JSON.stringify(lib)});
    const out = { caps: m.capabilities() };
    for (const [k, f] of [['tun', () => m.TunDevice.open('cvtnocap0')], ['raw', () => m.RawSocket.open(47, { address: '127.0.0.1' })]]) {
      try { f(); out[k] = 'opened'; } catch (e) { out[k] = e.code + ': ' + e.message; }
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, any>;
  assert.deepEqual(out.caps, { netAdmin: false, netRaw: false });
  assert.match(out.tun, /^IO_ERR_NO_CAPABILITY: .*CAP_NET_ADMIN/);
  assert.match(out.raw, /^IO_ERR_NO_CAPABILITY: .*CAP_NET_RAW/);
});

test('TAP device (for BCP bridging): opens non-blocking and reads whole Ethernet frames', async () => {
  const { NetnsPair } = await import('./helpers/netns.js');
  const net = NetnsPair.create('tap');
  try {
    const lib = fileURLToPath(new URL('../../src/io/native.js', import.meta.url));
    // Inside the namespace: a TAP with an address; a datagram to a neighbour makes the kernel ARP for it.
    const script = `
      const m = await import(${JSON.stringify(lib)});
      const { execFileSync } = await import('node:child_process');
      const { createSocket } = await import('node:dgram');
      const t = m.TunDevice.open('cvttap%d', { tap: true });
      execFileSync('ip', ['addr', 'add', '198.19.3.1/24', 'dev', t.name]);
      execFileSync('ip', ['link', 'set', t.name, 'up']);
      const link = execFileSync('ip', ['-o', 'link', 'show', t.name], { encoding: 'utf8' });
      const frame = await new Promise((res) => {
        t.onBatch = (n) => {
          for (let i = 0; i < n; i++) {
            const off = t.rxMeta[i * 4], len = t.rxMeta[i * 4 + 1];
            if (((t.rx[off + 12] << 8) | t.rx[off + 13]) === 0x0806) res({ len, bcast: t.rx[off] === 0xff });
          }
        };
        const s = createSocket('udp4');
        s.send('x', 9, '198.19.3.2', () => s.close());
      });
      console.log(JSON.stringify({ name: t.name, ether: /link\\/ether/.test(link), frame }));
      t.close();`;
    const r = spawnSync('ip', ['netns', 'exec', net.a, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { name: string; ether: boolean; frame: { len: number; bcast: boolean } };
    assert.match(out.name, /^cvttap\d+$/);
    assert.equal(out.ether, true, 'a TAP is an Ethernet device');
    assert.equal(out.frame.bcast, true, 'the ARP request is broadcast');
    assert.ok(out.frame.len >= 42, 'a whole ARP frame (14 + 28 bytes)');
  } finally {
    net.destroy();
  }
});
