/**
 * PppInterface without a kernel: a fake TUN (the same rx/rxMeta layout as the addon's)
 * and a fake transport. ip/sysctl calls go to a namespace that does not exist, so they
 * fail harmlessly and are only logged; what is asserted is the packet path and naming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { kernelName, formatDuration, MAX_IFNAME, PppInterface, type TunnelTransport } from '../../src/io/ppp-interface.js';
import { META_WORDS, type TunDevice } from '../../src/io/native.js';
import type { LinkInfo } from '../../src/protocol/ppp/link.js';

const NO_NS = 'culvert-test-no-such-netns';

class FakeTun {
  readonly headroom = 64;
  readonly slot = 2048;
  readonly rx = new Uint8Array(2048 * 8);
  readonly rxMeta = new Uint32Array(8 * META_WORDS);
  onBatch: (n: number) => void = () => {};
  onDown: (e: number) => void = () => {};
  sends: { count: number; lens: number[] }[] = [];
  closed = false;
  constructor(readonly name: string) {}
  send(buf: Uint8Array, meta: Uint32Array, count: number): number {
    const lens: number[] = [];
    for (let i = 0; i < count; i++) lens.push(meta[i * META_WORDS + 1]);
    this.sends.push({ count, lens });
    return count;
  }
  sendOne(_b: Uint8Array, _o: number, len: number): number {
    this.sends.push({ count: 1, lens: [len] });
    return 1;
  }
  close(): void { this.closed = true; }
  /** Put packets (first octet = version nibble) into rx as the addon would and fire a batch. */
  inject(packets: { version: number; len: number }[]): void {
    packets.forEach((p, i) => {
      const off = i * this.slot + this.headroom;
      this.rx.fill(0, off, off + p.len);
      this.rx[off] = p.version << 4 | 5;
      this.rxMeta[i * META_WORDS] = off;
      this.rxMeta[i * META_WORDS + 1] = p.len;
    });
    this.onBatch(packets.length);
  }
}

function info(): LinkInfo {
  return {
    role: 'client', phase: 'running', status: 'connected', localAddress: '198.19.0.2', remoteAddress: '198.19.0.1',
    dns: [], nbns: [], mtu: 1400, mru: 1460, encoding: 'MPPE128 stateless', uptimeMs: 0, idleMs: 0,
  };
}

function make(opts: { onDemand?: () => void } = {}): { iface: PppInterface; tun: FakeTun } {
  const tun = new FakeTun('pptp-out1');
  const iface = new PppInterface({
    name: 'pptp-out1',
    netns: NO_NS,
    onDemand: opts.onDemand,
    openTun: () => tun as unknown as TunDevice,
  });
  return { iface, tun };
}

function transport(accept = true): TunnelTransport & { sent: number[] } {
  const sent: number[] = [];
  return { headroom: 24, sent, sendIp: (_b, off, len) => { sent.push(len); void off; return accept; } };
}

test('kernelName: RouterOS names that fit are kept, <pptp-USER> included', () => {
  assert.equal(kernelName('pptp-out1'), 'pptp-out1');
  assert.equal(kernelName('<pptp-alice>'), '<pptp-alice>');
});

test('kernelName: long dynamic names are cut to 15 characters and keep their brackets; collisions get a suffix', () => {
  const n = kernelName('<pptp-averyveryverylonguser>');
  assert.equal(n.length, MAX_IFNAME);
  assert.ok(n.startsWith('<pptp-') && n.endsWith('>'), n);
  const taken = new Set([n]);
  const m = kernelName('<pptp-averyveryverylonguser2>', (x) => taken.has(x));
  assert.notEqual(m, n);
  assert.ok(m.length <= MAX_IFNAME && m.endsWith('>'), m);
  assert.equal(kernelName('a b/c:d'), 'a_b_c_d', 'characters Linux refuses are replaced');
  assert.equal(kernelName('..'), '__', 'Linux refuses "." and ".."');
});

test('kernelName: any input gives a name Linux accepts (fuzz)', () => {
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 64 }), (s) => {
    const n = kernelName(s);
    assert.ok(n.length >= 1 && n.length <= MAX_IFNAME, n);
    assert.match(n, /^[A-Za-z0-9_.<>-]+$/);
    assert.ok(n !== '.' && n !== '..');
  }));
});

test('formatDuration: RouterOS time text', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(59_999), '59s');
  assert.equal(formatDuration(3_661_000), '1h1m1s');
  assert.equal(formatDuration(7 * 86400_000 + 2 * 86400_000 + 5_000), '1w2d5s');
});

test('PppInterface: IPv6 from the TUN is dropped and counted (no IPV6CP); the first IPv4 packet while down asks for a dial once', async () => {
  let demands = 0;
  const { iface, tun } = make({ onDemand: () => demands++ });
  await iface.open();
  tun.inject([{ version: 6, len: 60 }, { version: 4, len: 40 }, { version: 4, len: 40 }, { version: 0, len: 1 }]);
  assert.equal(iface.counters.drops.ipv6, 1);
  assert.equal(iface.counters.drops.notConnected, 2);
  assert.equal(iface.counters.drops.badPacket, 1);
  assert.equal(demands, 1, 'one dial for a burst');
  await iface.close();
  assert.ok(tun.closed, 'close deletes the TUN');
});

test('PppInterface: once up, IPv4 goes to the transport in place; refusals are counted; IPv6 still dropped', async () => {
  const { iface, tun } = make();
  await iface.open();
  const t = transport();
  iface.attach(t);
  await iface.linkUp(info());
  assert.equal(iface.status, 'connected');
  tun.inject([{ version: 4, len: 100 }, { version: 6, len: 80 }, { version: 4, len: 200 }]);
  assert.deepEqual(t.sent, [100, 200]);
  assert.equal(iface.counters.txPackets, 2);
  assert.equal(iface.counters.txBytes, 300);
  assert.equal(iface.counters.drops.ipv6, 1);
  const refuse = transport(false);
  iface.attach(refuse);
  tun.inject([{ version: 4, len: 100 }]);
  assert.equal(iface.counters.drops.transport, 1);
  await iface.linkDown('LCP missed echo reply');
  assert.equal(iface.monitor().status, 'terminated - LCP missed echo reply');
  tun.inject([{ version: 4, len: 100 }]);
  assert.equal(refuse.sent.length, 1, 'nothing reaches a detached transport');
  await iface.close();
});

test('PppInterface: received packets of one socket batch leave in one TUN write; other buffers are written at once, in order', async () => {
  const { iface, tun } = make();
  await iface.open();
  const sock = new Uint8Array(4096);
  iface.beginRx(sock);
  iface.deliverIp(sock, 100, 60);
  iface.deliverIp(sock, 300, 70);
  iface.deliverIp(new Uint8Array(80), 0, 80); // e.g. a reorder-pool slot, drained behind the two
  assert.deepEqual(tun.sends, [{ count: 2, lens: [60, 70] }, { count: 1, lens: [80] }], 'what came before it goes first');
  iface.deliverIp(sock, 600, 90);
  iface.endRx();
  assert.deepEqual(tun.sends[2], { count: 1, lens: [90] });
  assert.equal(iface.counters.rxPackets, 4);
  assert.equal(iface.counters.rxBytes, 300);
  await iface.close();
});

test('PppInterface: a transport that needs more headroom than the TUN has is refused', async () => {
  const { iface } = make();
  await iface.open();
  assert.throws(() => iface.attach({ headroom: 1000, sendIp: () => true }), { code: 'IO_ERR_BAD_ARG' });
  await iface.close();
});
