/**
 * The shared GRE socket's demultiplexing, with a fake raw socket (the addon's rx/rxMeta
 * layout): IPv4 header skipped, per-server listeners, a catch-all for the server side,
 * malformed and unwanted packets counted, one batchEnd per listener per batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GreIoShare, SharedGreSocket } from '../../../src/io/pptp/gre-socket.js';
import { META_WORDS, type ChannelStats, type RawSocket } from '../../../src/io/native.js';
import { GreSession } from '../../../src/protocol/pptp/gre-session.js';
import { FakeClock } from '../../../src/protocol/clock.js';

class FakeRaw {
  readonly rx = new Uint8Array(2048 * 8);
  readonly rxMeta = new Uint32Array(8 * META_WORDS);
  onBatch: (n: number) => void = () => {};
  closed = false;
  sent: { dst: number; len: number }[] = [];
  /** What the next sends return (1 taken, 0 dropped: the addon counts the drop). */
  take = 1;
  st: ChannelStats = {
    rxPackets: 0, rxBytes: 0, rxTruncated: 0, rxErrors: 0, txPackets: 0, txBytes: 0, txDropped: 0, txErrors: 0,
    txQueued: 0, queueLength: 0, wakeups: 0, txGsoBatches: 0, rxGroBatches: 0, rxTsoPackets: 0, down: false,
  };
  sendOne(_b: Uint8Array, _o: number, len: number, dst: number): number {
    if (this.take === 0) { this.st.txDropped++; return 0; }
    this.sent.push({ dst, len });
    return 1;
  }
  /** TxBatch flushes: packets as (offset, length, address) of `meta`. */
  send(_b: Uint8Array, meta: Uint32Array, count: number): number {
    for (let i = 0; i < count; i++) this.sent.push({ dst: meta[i * META_WORDS + 2], len: meta[i * META_WORDS + 1] });
    return count;
  }
  stats(): ChannelStats { return { ...this.st }; }
  close(): void { this.closed = true; }
  /** Packets as (IPv4 header length word, total length, source, GRE Key Call ID). */
  inject(pk: { ihlWords: number; len: number; src: number; callId?: number }[]): void {
    pk.forEach((p, i) => {
      const off = i * 2048 + 64;
      this.rx.fill(0, off, off + 100);
      this.rx[off] = 0x40 | p.ihlWords;
      const g = off + p.ihlWords * 4;
      this.rx[g + 6] = (p.callId ?? 7) >> 8;
      this.rx[g + 7] = (p.callId ?? 7) & 0xff;
      this.rxMeta[i * META_WORDS] = off;
      this.rxMeta[i * META_WORDS + 1] = p.len;
      this.rxMeta[i * META_WORDS + 2] = p.src;
    });
    this.onBatch(pk.length);
  }
}

const SERVER = 0xc6120101; // 198.18.1.1
const OTHER = 0xc6120102;

function setup() {
  const raw = new FakeRaw();
  let gone = false;
  const s = new SharedGreSocket('test', raw as unknown as RawSocket, () => { gone = true; });
  return { raw, s, gone: () => gone };
}

test('GRE from the server goes to the client whose Call ID is in the Key, IPv4 header skipped; the rest to the catch-all', () => {
  const { raw, s } = setup();
  const client: { off: number; len: number }[] = [];
  const server: number[] = [];
  let clientEnds = 0;
  let serverEnds = 0;
  const client2: number[] = [];
  s.addPeer(SERVER, 7, { packet: (_b, off, len) => client.push({ off: off % 2048, len }), batchEnd: () => clientEnds++ });
  s.addPeer(SERVER, 9, { packet: (_b, _o, len) => client2.push(len) });
  s.addCatchAll({ packet: (_b, _o, _l, src) => server.push(src), batchEnd: () => serverEnds++ });
  raw.inject([
    { ihlWords: 5, len: 60, src: SERVER }, { ihlWords: 6, len: 60, src: SERVER }, { ihlWords: 5, len: 50, src: SERVER, callId: 9 },
    { ihlWords: 5, len: 60, src: OTHER }, { ihlWords: 5, len: 60, src: SERVER, callId: 8 },
  ]);
  assert.deepEqual(client, [{ off: 84, len: 40 }, { off: 88, len: 36 }]);
  assert.deepEqual(client2, [30], 'a second client of the same server from the same address');
  assert.deepEqual(server, [OTHER, SERVER]);
  assert.equal(clientEnds, 1, 'one batchEnd per batch');
  assert.equal(serverEnds, 1);
});

test('malformed IPv4 headers and packets nobody wants are counted, never delivered', () => {
  const { raw, s } = setup();
  let got = 0;
  s.addPeer(SERVER, 7, { packet: () => got++ });
  raw.inject([{ ihlWords: 4, len: 60, src: SERVER }, { ihlWords: 15, len: 60, src: SERVER }, { ihlWords: 5, len: 10, src: SERVER }, { ihlWords: 5, len: 40, src: OTHER }]);
  assert.equal(got, 0);
  assert.equal(s.stats.malformed, 3);
  assert.equal(s.stats.noListener, 1);
});

test('any header octet and length is either delivered within the packet or counted (fuzz)', () => {
  fc.assert(fc.property(fc.array(fc.record({ ihlWords: fc.integer({ min: 0, max: 15 }), len: fc.integer({ min: 0, max: 1500 }) }), { minLength: 1, maxLength: 8 }), (pk) => {
    const { raw, s } = setup();
    let delivered = 0;
    s.addPeer(SERVER, 7, { packet: (_b, off, len) => { delivered++; assert.ok(len > 0 && (off % 2048) + len <= 64 + 1500); } });
    raw.inject(pk.map((p) => ({ ...p, src: SERVER })));
    assert.equal(delivered + s.stats.malformed, pk.length);
  }));
});

test('one server listener per address, one client per server and Call ID; the socket closes with its last user', () => {
  const { raw, s, gone } = setup();
  const off1 = s.addPeer(SERVER, 7, { packet: () => {} });
  assert.throws(() => s.addPeer(SERVER, 7, { packet: () => {} }), { code: 'IO_ERR_GRE_PEER_IN_USE' });
  const off2 = s.addCatchAll({ packet: () => {} });
  assert.throws(() => s.addCatchAll({ packet: () => {} }), { code: 'IO_ERR_GRE_PEER_IN_USE' });
  assert.ok(s.send(SERVER, new Uint8Array(20), 0, 20));
  assert.deepEqual(raw.sent, [{ dst: SERVER, len: 20 }]);
  off1();
  assert.equal(raw.closed, false);
  off2();
  assert.equal(raw.closed, true);
  assert.ok(gone());
});

test('a direct send leaves after what is queued: packets keep the order they were given in', () => {
  const { raw, s } = setup();
  const buf = new Uint8Array(256);
  s.queue(SERVER, buf, 0, 11);
  s.queue(SERVER, buf, 16, 12);
  assert.equal(raw.sent.length, 0);
  assert.ok(s.send(OTHER, new Uint8Array(40), 0, 13));
  s.queue(SERVER, buf, 32, 14);
  s.flush();
  assert.deepEqual(raw.sent.map((p) => p.len), [11, 12, 13, 14]);
});

test("the socket's errors reach each call's pptp(8) counters: rx errors, kernel-refused and queue-dropped sends, from when the call began", () => {
  const { raw, s } = setup();
  const clock = new FakeClock();
  const session = () => new GreSession({ clock, localCallId: 1, peerCallId: 2, onWrite: () => true, onPayload: () => {} });
  raw.st.rxErrors = 5; // before either call: not theirs
  raw.st.txErrors = 1;
  const a = session();
  const shareA = new GreIoShare(s);
  raw.st.rxErrors += 2;
  raw.st.txErrors += 3;
  raw.st.txDropped += 4; // a batch the kernel pushed back on, past the send queue
  raw.take = 0;
  assert.equal(s.send(SERVER, new Uint8Array(20), 0, 20), false); // reported to its call: not counted again as short
  raw.take = 1;
  const b = session();
  const shareB = new GreIoShare(s);
  raw.st.rxErrors += 1;
  shareA.sync(a);
  shareB.sync(b);
  assert.deepEqual([a.stats.rx.errors, a.stats.tx.failed, a.stats.tx.short], [3, 3, 4]);
  assert.deepEqual([b.stats.rx.errors, b.stats.tx.failed, b.stats.tx.short], [1, 0, 0]);
  shareA.sync(a); // nothing new: nothing added twice
  assert.deepEqual([a.stats.rx.errors, a.stats.tx.failed, a.stats.tx.short], [3, 3, 4]);
  assert.deepEqual(s.ioCounters(), { rxErrors: 8, txFailed: 4, txShort: 4 });
});
