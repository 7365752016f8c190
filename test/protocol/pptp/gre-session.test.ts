import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClock } from '../../../src/protocol/clock.js';
import { gre } from '../../../src/codec/pptp/index.js';
import { GreSession, GRE_HEADROOM, type GreSessionOptions } from '../../../src/protocol/pptp/gre-session.js';

const LOCAL = 0x1234;
const PEER = 0xbeef;

/** A GRE data packet for our session whose payload names its sequence number. */
function data(seq: number, ack?: number, callId = LOCAL): Uint8Array {
  const payload = Uint8Array.of(0xff, 0x03, 0x00, 0x21, seq >>> 24, (seq >>> 16) & 255, (seq >>> 8) & 255, seq & 255);
  return gre.encode({ callId, sequence: seq, ack }, payload);
}

function ackOnly(ack: number): Uint8Array {
  return gre.encode({ callId: LOCAL, ack });
}

function rig(opts: Partial<GreSessionOptions> = {}) {
  const clock = new FakeClock();
  const delivered: number[] = [];
  const sent: gre.GrePacket[] = [];
  let writeOk = true;
  const s = new GreSession({
    clock,
    localCallId: LOCAL,
    peerCallId: PEER,
    onWrite: (b, o, l) => {
      sent.push(gre.decode(b.slice(o, o + l)));
      return writeOk;
    },
    onPayload: (b, o, l) => {
      assert.equal(l, 8);
      delivered.push(((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0);
    },
    ...opts,
  });
  const rx = (p: Uint8Array) => s.receive(p, 0, p.length);
  return {
    clock,
    s,
    delivered,
    sent,
    rx,
    failWrites(v: boolean) {
      writeOk = !v;
    },
  };
}

function sendOne(s: GreSession, n = 10): boolean {
  return s.send(new Uint8Array(n).fill(0xaa));
}

describe('GRE session: receive path', () => {
  test('in-order packets are passed on at once and counted as accepted', () => {
    const r = rig();
    for (let i = 0; i < 5; i++) r.rx(data(i));
    assert.deepEqual(r.delivered, [0, 1, 2, 3, 4]);
    assert.deepEqual(r.s.stats.rx, { accepted: 5, lost: 0, underWin: 0, overWin: 0, buffered: 0, errors: 0, truncated: 0, invalid: 0, acks: 0 });
  });

  test('reordered within the timeout: delivered in sequence order, nothing lost', () => {
    const r = rig();
    for (const q of [0, 2, 3, 1, 4]) r.rx(data(q));
    assert.deepEqual(r.delivered, [0, 1, 2, 3, 4]);
    assert.equal(r.s.stats.rx.buffered, 2);
    assert.equal(r.s.stats.rx.accepted, 5);
    assert.equal(r.s.stats.rx.lost, 0);
    assert.equal(r.s.bufferedPackets, 0);
  });

  test('reorder timeout (default 0.3 s): the gap is declared lost, waiting packets go on; the late one is under win', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(2));
    r.rx(data(3));
    r.clock.advance(299);
    assert.deepEqual(r.delivered, [0]);
    r.clock.advance(1);
    assert.deepEqual(r.delivered, [0, 2, 3]);
    assert.equal(r.s.stats.rx.lost, 1);
    assert.equal(r.s.stats.rx.buffered, 2);
    r.rx(data(1));
    assert.equal(r.s.stats.rx.underWin, 1);
    assert.deepEqual(r.delivered, [0, 2, 3]);
  });

  test('custom --timeout: 50 ms', () => {
    const r = rig({ reorderTimeoutMs: 50 });
    r.rx(data(0));
    r.rx(data(5));
    r.clock.advance(49);
    assert.deepEqual(r.delivered, [0]);
    r.clock.advance(1);
    assert.deepEqual(r.delivered, [0, 5]);
    assert.equal(r.s.stats.rx.lost, 4);
  });

  test('a later packet expiring releases the earlier buffered ones first, in order', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(5)); // t=0
    r.clock.advance(200);
    r.rx(data(3)); // t=200
    r.clock.advance(100); // 5 expires at 300; 3 must go out before it
    assert.deepEqual(r.delivered, [0, 3, 5]);
    assert.equal(r.s.stats.rx.lost, 3); // 1, 2, 4
  });

  test('duplicates and old sequence numbers are under win', () => {
    const r = rig();
    for (const q of [0, 1, 1, 0, 2]) r.rx(data(q));
    r.rx(data(4));
    r.rx(data(4)); // duplicate of a buffered packet
    assert.deepEqual(r.delivered, [0, 1, 2]);
    assert.equal(r.s.stats.rx.underWin, 3);
    assert.equal(r.s.stats.rx.buffered, 1);
  });

  test('packets too far ahead (300+) are over win', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(301));
    assert.equal(r.s.stats.rx.overWin, 1);
    r.rx(data(300));
    assert.equal(r.s.stats.rx.overWin, 1);
    assert.equal(r.s.stats.rx.buffered, 1);
  });

  test('--nobuffer: ahead-of-sequence accepted at once, the gap lost, late ones under win', () => {
    const r = rig({ nobuffer: true });
    r.rx(data(0));
    r.rx(data(3));
    assert.deepEqual(r.delivered, [0, 3]);
    assert.equal(r.s.stats.rx.lost, 2);
    assert.equal(r.s.stats.rx.buffered, 1);
    assert.equal(r.s.stats.rx.accepted, 2);
    r.rx(data(1));
    assert.equal(r.s.stats.rx.underWin, 1);
    assert.equal(r.s.bufferedPackets, 0);
  });

  test('a full reorder pool gives up the oldest gap to make room', () => {
    const r = rig({ bufferSlots: 2 });
    for (const q of [0, 2, 3, 5]) r.rx(data(q));
    // pool held 2 and 3; 5 needed a slot: 1 declared lost, 2 and 3 passed on, 5 buffered
    assert.deepEqual(r.delivered, [0, 2, 3]);
    assert.equal(r.s.stats.rx.lost, 1);
    assert.equal(r.s.bufferedPackets, 1);
    r.rx(data(4));
    assert.deepEqual(r.delivered, [0, 2, 3, 4, 5]);
  });

  test('a packet too big for the pool is taken at once, after the smaller ones waiting before it', () => {
    const clock = new FakeClock();
    const got: number[] = [];
    const s = new GreSession({ clock, localCallId: LOCAL, peerCallId: PEER, maxPayload: 64, onWrite: () => true, onPayload: (b, o, l) => got.push(l === 8 ? b[o + 7] : 1000 + l) });
    const feed = (p: Uint8Array) => s.receive(p, 0, p.length);
    feed(data(0));
    feed(data(2));
    feed(gre.encode({ callId: LOCAL, sequence: 4 }, new Uint8Array(100)));
    assert.deepEqual(got, [0, 2, 1100], '2 goes out before the big packet 4');
    assert.equal(s.bufferedPackets, 0);
    assert.equal(s.stats.rx.lost, 2); // 1 and 3
    feed(data(5));
    clock.advance(1000);
    assert.deepEqual(got, [0, 2, 1100, 5]);
    assert.equal(s.stats.rx.lost, 2);
  });

  test('buffered packets are copies: the caller may reuse its buffer', () => {
    const r = rig();
    r.rx(data(0));
    const p = data(2);
    r.rx(p);
    p.fill(0);
    r.rx(data(1));
    assert.deepEqual(r.delivered, [0, 1, 2]);
  });

  test('sequence numbers wrap modulo 2^32', () => {
    const r = rig();
    for (const q of [0xfffffffe, 0xffffffff, 0, 1]) r.rx(data(q));
    assert.deepEqual(r.delivered, [0xfffffffe, 0xffffffff, 0, 1]);
    const r2 = rig();
    for (const q of [0xfffffffe, 0, 0xffffffff, 1]) r2.rx(data(q));
    assert.deepEqual(r2.delivered, [0xfffffffe, 0xffffffff, 0, 1]);
    assert.equal(r2.s.stats.rx.buffered, 1);
    r2.rx(data(0xfffffff0));
    assert.equal(r2.s.stats.rx.underWin, 1);
  });

  test('bad packets are counted, never thrown: truncated, invalid, other call, pure acks, OS errors', () => {
    const r = rig();
    const good = data(0);
    r.s.receive(good, 0, 6);
    r.s.receive(good, 0, good.length - 1); // Payload Length runs past the end
    const badVer = good.slice();
    badVer[1] = 0x00;
    r.rx(badVer);
    const badProto = good.slice();
    badProto[3] = 0x00;
    r.rx(badProto);
    r.rx(data(0, undefined, LOCAL + 1));
    r.rx(ackOnly(0));
    r.s.noteRxError();
    assert.deepEqual(r.s.stats.rx, { accepted: 0, lost: 0, underWin: 0, overWin: 0, buffered: 0, errors: 1, truncated: 2, invalid: 3, acks: 1 });
    assert.deepEqual(r.delivered, []);
  });
});

describe('GRE session: acknowledgements', () => {
  test('ack-only packet after 100 ms when there is no data to carry the ack', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(1));
    r.clock.advance(99);
    assert.equal(r.sent.length, 0);
    r.clock.advance(1);
    assert.equal(r.sent.length, 1);
    const a = r.sent[0];
    assert.equal(a.hasSequence, false);
    assert.equal(a.hasAck, true);
    assert.equal(a.ack, 1);
    assert.equal(a.callId, PEER);
    assert.equal(a.payloadLength, 0);
    assert.equal(r.s.stats.tx.acks, 1);
    r.clock.advance(1000);
    assert.equal(r.sent.length, 1, 'nothing new to ack: no more ack-only packets');
  });

  test('acks are piggybacked on data; then no ack-only packet is needed', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(1));
    assert.ok(sendOne(r.s));
    assert.equal(r.sent[0].hasSequence, true);
    assert.equal(r.sent[0].sequence, 0);
    assert.equal(r.sent[0].hasAck, true);
    assert.equal(r.sent[0].ack, 1);
    r.clock.advance(500);
    assert.equal(r.s.stats.tx.acks, 0);
    assert.ok(sendOne(r.s));
    assert.equal(r.sent[1].sequence, 1);
    assert.equal(r.sent[1].hasAck, false, 'nothing new to acknowledge');
    assert.equal(r.s.stats.tx.sent, 2);
  });

  test('half our receive window unacknowledged: ack at once', () => {
    const r = rig({ localWindow: 8 });
    for (let i = 0; i < 3; i++) r.rx(data(i));
    assert.equal(r.sent.length, 0);
    r.rx(data(3));
    assert.equal(r.sent.length, 1);
    assert.equal(r.sent[0].ack, 3);
  });

  test('the ack names the highest packet received, buffered ones included (RFC 2637 §4.3)', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(2));
    sendOne(r.s);
    assert.equal(r.sent[0].ack, 2);
  });

  test('acks for our packets: multi-packet ack, RTT estimate (§4.4.1), old and bogus acks ignored', () => {
    const r = rig();
    for (let i = 0; i < 3; i++) sendOne(r.s);
    assert.equal(r.s.outstanding, 3);
    r.clock.advance(40);
    r.rx(ackOnly(2));
    assert.equal(r.s.outstanding, 0);
    assert.equal(r.s.stats.rx.acks, 1);
    // RTT starts at the Processing Delay (0); one 40 ms sample with alpha 1/8 gives 5 ms.
    assert.equal(r.s.stats.rttMs, 5);
    r.rx(ackOnly(1)); // old
    r.rx(ackOnly(100)); // beyond what we sent
    assert.equal(r.s.outstanding, 0);
    assert.equal(r.s.stats.rttMs, 5);
  });
});

describe('GRE session: transmit window', () => {
  test('starts at half the peer window, grows by one per acknowledged window, drops when full', () => {
    const r = rig({ peerWindow: 4 });
    assert.equal(r.s.window, 2);
    assert.ok(sendOne(r.s));
    assert.ok(sendOne(r.s));
    assert.equal(sendOne(r.s), false);
    assert.equal(r.s.stats.tx.windowFull, 1);
    r.rx(ackOnly(1));
    assert.equal(r.s.window, 3);
    for (let i = 0; i < 3; i++) assert.ok(sendOne(r.s));
    assert.equal(sendOne(r.s), false);
    r.rx(ackOnly(4));
    assert.equal(r.s.window, 4);
    r.rx(ackOnly(4));
    assert.equal(r.s.window, 4, 'never above the peer window');
  });

  test('ack time-out: outstanding packets given up, window halved (rounded up), time-out backed off', () => {
    const r = rig({ peerWindow: 6, minAckTimeoutMs: 500 });
    assert.equal(r.s.window, 3);
    for (let i = 0; i < 3; i++) sendOne(r.s);
    assert.equal(sendOne(r.s), false);
    r.clock.advance(499);
    assert.equal(r.s.stats.tx.timeouts, 0);
    r.clock.advance(1);
    assert.equal(r.s.stats.tx.timeouts, 1);
    assert.equal(r.s.window, 2);
    assert.equal(r.s.outstanding, 0);
    assert.equal(r.s.ackTimeoutMs, 1000);
    assert.ok(sendOne(r.s));
  });

  test('peer window 0 or enforceWindow false: no limit', () => {
    for (const o of [{ peerWindow: 0 }, { peerWindow: 2, enforceWindow: false }]) {
      const r = rig(o);
      for (let i = 0; i < 100; i++) assert.ok(sendOne(r.s));
    }
  });

  test('send counters: sent, oversize, failed, short; sequence starts at 0 and wraps', () => {
    const r = rig({ maxPayload: 100, peerWindow: 0 });
    assert.ok(sendOne(r.s, 100));
    assert.equal(sendOne(r.s, 101), false);
    r.failWrites(true);
    assert.equal(sendOne(r.s), false);
    r.failWrites(false);
    r.s.noteTxShort();
    r.s.noteTxFailed();
    assert.deepEqual(r.s.stats.tx, { sent: 1, failed: 2, short: 1, acks: 0, oversize: 1, windowFull: 0, timeouts: 0 });
    assert.equal(r.sent[0].sequence, 0);
    assert.ok(sendOne(r.s));
    assert.equal(r.sent.at(-1)!.sequence, 1, 'a failed write gives its sequence number back');
    const w = rig({ firstSequence: 0xfffffffe, peerWindow: 0 });
    for (let i = 0; i < 3; i++) sendOne(w.s);
    assert.deepEqual(w.sent.map((p) => p.sequence), [0xfffffffe, 0xffffffff, 0]);
    w.rx(ackOnly(0xffffffff));
    assert.equal(w.s.outstanding, 1);
    w.rx(ackOnly(0));
    assert.equal(w.s.outstanding, 0);
  });

  test('sendInPlace writes the header into the headroom (no copy)', () => {
    const r = rig();
    const buf = new Uint8Array(GRE_HEADROOM + 4);
    buf.set([1, 2, 3, 4], GRE_HEADROOM);
    let seen: { b: Uint8Array; o: number; l: number } | undefined;
    const s = new GreSession({ clock: r.clock, localCallId: 1, peerCallId: 2, onWrite: (b, o, l) => { seen = { b, o, l }; }, onPayload: () => {} });
    assert.ok(s.sendInPlace(buf, GRE_HEADROOM, 4));
    assert.equal(seen!.b, buf);
    assert.equal(seen!.o, GRE_HEADROOM - 12);
    const p = gre.decode(buf, seen!.o, seen!.l);
    assert.deepEqual([...p.payload], [1, 2, 3, 4]);
    assert.equal(p.callId, 2);
  });

  test('receiveDecoded (header parsed by the io layer) behaves like receive', () => {
    const a = rig();
    const b = rig();
    for (const q of [0, 2, 1, 5]) {
      const p = data(q, q > 0 ? 0 : undefined);
      a.rx(p);
      const h = gre.decode(p);
      b.s.receiveDecoded(h.sequence, h.hasAck ? h.ack : -1, p, h.headerLength, h.payloadLength);
    }
    b.s.receiveDecoded(-1, 0, new Uint8Array(0), 0, 0);
    a.rx(ackOnly(0));
    a.clock.advance(1000);
    b.clock.advance(1000);
    assert.deepEqual(b.delivered, a.delivered);
    assert.deepEqual(b.s.stats, a.s.stats);
  });

  test('a failed write that carried an ack leaves the ack owed (ack-only follows)', () => {
    const r = rig();
    r.rx(data(0));
    r.failWrites(true);
    assert.equal(sendOne(r.s), false);
    r.failWrites(false);
    r.clock.advance(100);
    const last = r.sent.at(-1)!;
    assert.equal(last.hasSequence, false);
    assert.equal(last.ack, 0);
    assert.equal(r.s.stats.tx.acks, 1);
  });

  test('close cancels every timer', () => {
    const r = rig();
    r.rx(data(0));
    r.rx(data(2));
    sendOne(r.s);
    r.s.close();
    r.clock.advance(10_000);
    assert.equal(r.clock.timerCount, 0);
    assert.equal(sendOne(r.s), false);
  });
});

describe('GRE session: fuzz', () => {
  test('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 }), (pkts) => {
        const r = rig();
        for (const p of pkts) r.rx(p);
        r.clock.advance(1000);
      }),
    );
  });

  test('random sequence numbers, acks and time steps: never throws, delivers strictly in order, counts add up', () => {
    const step = fc.record({
      seq: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff })),
      ack: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
      wait: fc.integer({ min: 0, max: 400 }),
      send: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.boolean(), fc.integer({ min: 1, max: 8 }), (steps, nobuffer, slots) => {
        const r = rig({ nobuffer, bufferSlots: slots, peerWindow: 8 });
        let received = 0;
        for (const st of steps) {
          r.rx(data(st.seq, st.ack));
          received++;
          if (st.send) sendOne(r.s);
          r.clock.advance(st.wait);
        }
        r.clock.advance(1000);
        const rx = r.s.stats.rx;
        assert.equal(r.s.bufferedPackets, 0);
        assert.equal(rx.accepted, r.delivered.length);
        assert.equal(rx.accepted + rx.underWin + rx.overWin, received);
        for (let i = 1; i < r.delivered.length; i++) assert.ok(((r.delivered[i] - r.delivered[i - 1]) | 0) > 0, 'in order');
      }),
    );
  });
  test('random sizes (some too big for the pool), sequence numbers and timing: in order, sane loss counts', () => {
    const step = fc.record({ seq: fc.integer({ min: 0, max: 30 }), size: fc.integer({ min: 4, max: 100 }), wait: fc.integer({ min: 0, max: 200 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (steps, slots) => {
        const clock = new FakeClock();
        const got: number[] = [];
        const s = new GreSession({
          clock, localCallId: LOCAL, peerCallId: PEER, maxPayload: 64, bufferSlots: slots, onWrite: () => true,
          onPayload: (b, o) => got.push(((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0),
        });
        for (const st of steps) {
          const payload = new Uint8Array(st.size);
          payload[3] = st.seq;
          const p = gre.encode({ callId: LOCAL, sequence: st.seq }, payload);
          s.receive(p, 0, p.length);
          clock.advance(st.wait);
        }
        clock.advance(1000);
        assert.equal(s.bufferedPackets, 0);
        for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `in order: ${got}`);
        const rx = s.stats.rx;
        assert.equal(rx.accepted, got.length);
        assert.equal(rx.accepted + rx.underWin + rx.overWin, steps.length);
        if (got.length > 0) assert.equal(rx.lost, got[got.length - 1] - got[0] + 1 - got.length, 'lost = the gaps between what was passed on');
      }),
    );
  });
});

describe('GRE session: pptp(8) send-order tests (--test-type / --test-rate)', () => {
  /** A sender with the test on, wired to a receiver (our own reorder buffer) in wire order. */
  function pair(opts: Partial<GreSessionOptions>) {
    const clock = new FakeClock();
    const wire: number[] = [];
    const delivered: number[] = [];
    const acksOnWire: boolean[] = [];
    const rx = new GreSession({
      clock, localCallId: PEER, peerCallId: LOCAL, onWrite: () => true,
      onPayload: (b, o, l) => {
        assert.equal(l, 8);
        delivered.push(((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0);
      },
    });
    const tx = new GreSession({
      clock, localCallId: LOCAL, peerCallId: PEER, peerWindow: 0,
      onWrite: (b, o, l) => {
        const p = gre.decode(b.slice(o, o + l));
        wire.push(p.sequence);
        acksOnWire.push(p.hasAck);
        rx.receive(b, o, l);
        return true;
      },
      onPayload: () => {},
      ...opts,
    });
    let next = opts.firstSequence ?? 0;
    const send = (n: number) => {
      for (let i = 0; i < n; i++, next = (next + 1) >>> 0) {
        assert.ok(tx.send(Uint8Array.of(0xff, 0x03, 0x00, 0x21, next >>> 24, (next >>> 16) & 255, (next >>> 8) & 255, next & 255)));
      }
    };
    return { clock, tx, rx, wire, delivered, acksOnWire, send };
  }

  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

  function assertRepaired(p: ReturnType<typeof pair>, first: number, count: number) {
    assert.deepEqual(p.delivered, range(first, first + count - 1), 'our receiver passes every packet on once, in order');
    assert.equal(p.rx.stats.rx.lost, 0);
    assert.equal(p.rx.stats.rx.underWin, 0);
    assert.ok(p.rx.stats.rx.buffered > 0, 'the reorder buffer did the work');
    assert.equal(p.rx.bufferedPackets, 0);
    assert.equal(p.tx.stats.tx.sent, count);
  }

  test('type 1: a single swap of two packets (1 2 3 4 6 5 7 8 9), then again after test-rate packets', () => {
    const p = pair({ reorderTestType: 1, reorderTestRate: 4, firstSequence: 1 });
    p.send(12);
    assert.deepEqual(p.wire, [1, 2, 3, 4, 6, 5, 7, 8, 9, 10, 12, 11]);
    assertRepaired(p, 1, 12);
    assert.equal(p.rx.stats.rx.buffered, 2);
  });

  test('type 2: sixteen goes ahead, the rest follow ascending (1 2 3 4 16 5 6 ... 15 17 18 19 20)', () => {
    const p = pair({ reorderTestType: 2, reorderTestRate: 4, firstSequence: 1 });
    p.send(20);
    assert.deepEqual(p.wire, [1, 2, 3, 4, 16, ...range(5, 15), 17, 18, 19, 20]);
    assertRepaired(p, 1, 20);
    assert.equal(p.rx.stats.rx.buffered, 1);
  });

  test('type 3: twelve packets sent in reverse (1 2 3 4 16 15 14 ... 6 5 17 18 19 20)', () => {
    const p = pair({ reorderTestType: 3, reorderTestRate: 4, firstSequence: 1 });
    p.send(20);
    assert.deepEqual(p.wire, [1, 2, 3, 4, ...range(5, 16).reverse(), 17, 18, 19, 20]);
    assertRepaired(p, 1, 20);
    assert.equal(p.rx.stats.rx.buffered, 11);
  });

  test('default rate: 100 packets in order between tests; type 0 (default) never reorders', () => {
    const p = pair({ reorderTestType: 3 });
    p.send(230);
    assert.deepEqual(p.wire, [...range(0, 99), ...range(100, 111).reverse(), ...range(112, 211), ...range(212, 223).reverse(), ...range(224, 229)]);
    assertRepaired(p, 0, 230);
    const q = pair({});
    q.send(300);
    assert.deepEqual(q.wire, range(0, 299));
    assert.equal(q.rx.stats.rx.buffered, 0);
  });

  test('rate 1: one packet in order between tests (1 3 2 4 6 5 7)', () => {
    const p = pair({ reorderTestType: 1, reorderTestRate: 1, firstSequence: 1 });
    p.send(7);
    assert.deepEqual(p.wire, [1, 3, 2, 4, 6, 5, 7]);
    assertRepaired(p, 1, 7);
  });

  test('held packets carry no piggybacked ack (it would wait with them); the ack still leaves', () => {
    const p = pair({ reorderTestType: 3, reorderTestRate: 1 });
    p.send(1);
    p.tx.receive(data(0), 0, data(0).length); // something to acknowledge
    p.send(3);
    assert.deepEqual(p.wire, [0]);
    p.clock.advance(100);
    assert.equal(p.tx.stats.tx.acks, 1, 'ack-only packet on time');
  });

  test('traffic stops in the middle of a test: the held packets leave after 1 s, in the test order, nothing lost', () => {
    const p = pair({ reorderTestType: 3, reorderTestRate: 2 });
    p.send(5);
    assert.deepEqual(p.wire, [0, 1]);
    p.clock.advance(999);
    assert.deepEqual(p.wire, [0, 1]);
    p.clock.advance(1);
    assert.deepEqual(p.wire, [0, 1, 4, 3, 2]);
    p.send(5); // 5 6 pass, then a new test holds 7 8 9
    p.clock.advance(1000);
    assert.deepEqual(p.wire.slice(5), [5, 6, 9, 8, 7]);
    assertRepaired(p, 0, 10);
    assert.equal(p.clock.timerCount > 0, true); // the receiver's ack timer may still run
    p.tx.close();
    p.rx.close();
    assert.equal(p.clock.timerCount, 0);
  });

  test('close drops held packets and cancels the hold timer', () => {
    const p = pair({ reorderTestType: 2, reorderTestRate: 1 });
    p.send(4);
    p.tx.close();
    p.rx.close();
    assert.equal(p.clock.timerCount, 0);
    p.clock.advance(5000);
    assert.deepEqual(p.wire, [0]);
  });

  test('a held packet whose write fails is counted as failed (its number cannot be given back)', () => {
    const clock = new FakeClock();
    let n = 0;
    const tx = new GreSession({
      clock, localCallId: LOCAL, peerCallId: PEER, peerWindow: 0, reorderTestType: 1, reorderTestRate: 1,
      onWrite: () => ++n !== 3, onPayload: () => {},
    });
    assert.ok(sendOne(tx));
    assert.ok(sendOne(tx)); // held
    assert.ok(sendOne(tx)); // releases it; the held one's write fails
    assert.equal(tx.stats.tx.sent, 2);
    assert.equal(tx.stats.tx.failed, 1);
  });

  test('out-of-range type or rate: ConfigError', () => {
    for (const o of [{ reorderTestType: 4 }, { reorderTestType: -1 }, { reorderTestRate: 0 }, { reorderTestRate: 1.5 }]) {
      assert.throws(() => rig(o as Partial<GreSessionOptions>), (e: Error & { code?: string }) => e.code === 'CONFIG_ERR_INVALID_VALUE');
    }
  });

  test('fuzz: any type, rate and pacing: the wire carries each number once, our receiver repairs the order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ n: fc.integer({ min: 1, max: 30 }), wait: fc.integer({ min: 0, max: 1500 }) }), { maxLength: 12 }),
        (type, rate, bursts) => {
          const p = pair({ reorderTestType: type, reorderTestRate: rate, reorderTimeoutMs: 10_000 });
          let total = 0;
          for (const b of bursts) {
            p.send(b.n);
            total += b.n;
            p.clock.advance(b.wait);
          }
          p.clock.advance(2000);
          assert.deepEqual([...p.wire].sort((a, b) => a - b), range(0, total - 1));
          assert.deepEqual(p.delivered, range(0, total - 1));
          assert.equal(p.rx.stats.rx.lost, 0);
        },
      ),
    );
  });
});
