import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/protocol/clock.js';
import { ReliableChannel } from '../../../src/protocol/l2tp/reliable.js';
import { createL2tpHeader, tryDecodeHeaderInto } from '../../../src/codec/l2tp/header.js';
import { encodeControlMessage } from '../../../src/codec/l2tp/message.js';
import { L2tpMessageType as MT } from '../../../src/codec/l2tp/message-types.js';

function hello(): Uint8Array {
  return encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 0, nr: 0, messageType: MT.HELLO, avps: {} });
}

/** Two channels wired back to back; `drop(from)` decides per datagram. */
function link(opts: { aWindow?: number; bWindow?: number } = {}) {
  const clock = new FakeClock();
  const wire: { to: 'a' | 'b'; buf: Uint8Array }[] = [];
  const delivered = { a: [] as number[], b: [] as number[] };
  let dropFn: (to: 'a' | 'b', buf: Uint8Array) => boolean = () => false;
  const failed = { a: false, b: false };
  const mk = (me: 'a' | 'b', other: 'a' | 'b', rws: number | undefined) =>
    new ReliableChannel({
      clock,
      receiveWindow: rws,
      transmit: (buf) => wire.push({ to: other, buf: buf.slice() }),
      deliver: (_buf, h) => delivered[me].push(h.ns),
      onFail: () => (failed[me] = true),
    });
  const a = mk('a', 'b', opts.aWindow);
  const b = mk('b', 'a', opts.bWindow);
  const h = createL2tpHeader();
  const pump = () => {
    while (wire.length > 0) {
      const { to, buf } = wire.shift()!;
      if (dropFn(to, buf)) continue;
      tryDecodeHeaderInto(buf, 0, buf.length, h);
      (to === 'a' ? a : b).receive(buf, h);
    }
  };
  return {
    clock, a, b, wire, delivered, failed, pump,
    set drop(f: typeof dropFn) { dropFn = f; },
    run(ms: number, step = 10) {
      const end = clock.now() + ms;
      pump();
      while (clock.now() < end) {
        clock.advance(Math.min(step, end - clock.now()));
        pump();
      }
    },
  };
}

describe('L2TP reliable transport', () => {
  test('Ns/Nr wrap modulo 65536: 70 000 messages delivered once each, in order', () => {
    const l = link();
    let expected = 0;
    for (let i = 0; i < 70_000; i++) {
      l.a.send(hello());
      l.pump();
      l.clock.advance(100); // let the ZLB ack go
      l.pump();
      assert.equal(l.delivered.b.length, i + 1);
      const ns = l.delivered.b[i];
      if (ns !== expected) assert.fail(`message ${i}: Ns ${ns}, expected ${expected}`);
      expected = (expected + 1) & 0xffff;
    }
    assert.equal(l.a.outstanding, 0);
    assert.equal(l.b.stats.duplicates, 0);
    assert.equal(l.a.stats.retransmissions, 0);
  });

  test('Appendix A: CWND starts at 1, grows by one per ACK up to SSTHRESH, then by 1/CWND; a retransmission halves it into SSTHRESH', () => {
    const l = link({ bWindow: 8 });
    l.a.setPeerWindow(8);
    assert.equal(l.a.congestionWindow, 1);
    // Hold all ZLBs back so that we can watch the window open one ACK at a time.
    for (let i = 0; i < 4; i++) l.a.send(hello());
    assert.equal(l.a.outstanding, 1, 'slow start: one message in flight');
    l.run(400);
    assert.equal(l.delivered.b.length, 4);
    assert.equal(l.a.congestionWindow, 5, '1 + 4 ACKs');
    // Loss: the next message is lost once and times out.
    let lost = 0;
    l.drop = (to) => to === 'b' && lost++ === 0;
    l.a.send(hello());
    l.run(999);
    assert.equal(l.a.stats.retransmissions, 0);
    l.clock.advance(1);
    assert.equal(l.a.stats.retransmissions, 1);
    assert.equal(l.a.congestionWindow, 1);
    l.run(3000);
    assert.equal(l.a.stats.retransmissions, 1);
    assert.equal(l.delivered.b.length, 5);
    // SSTHRESH is now 2.5: 1 -> 2 -> 3 (slow start), then +1/3 per ACK.
    assert.equal(l.a.congestionWindow, 2);
    l.a.send(hello());
    l.run(200);
    assert.equal(l.a.congestionWindow, 3);
    l.a.send(hello());
    l.run(200);
    assert.ok(Math.abs(l.a.congestionWindow - (3 + 1 / 3)) < 1e-9);
  });

  test('the back-off cap must be at least 8 s (RFC 2661 §5.8); Receive Window Size 0 is refused', () => {
    const clock = new FakeClock();
    const base = { clock, transmit() {}, deliver() {}, onFail() {} };
    assert.throws(() => new ReliableChannel({ ...base, maxRtoMs: 4000 }), { code: 'CONFIG_ERR_INVALID_VALUE' });
    assert.throws(() => new ReliableChannel({ ...base, receiveWindow: 0 }), { code: 'CONFIG_ERR_INVALID_VALUE' });
    const c = new ReliableChannel({ ...base, maxRtoMs: 16_000, retries: 6 });
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => c.rto(i)), [1000, 2000, 4000, 8000, 16000, 16000, 16000]);
  });

  test('receive window: a gap inside it is queued and filled in order; beyond it dropped; behind it a duplicate', () => {
    const l = link({ bWindow: 2 });
    const h = createL2tpHeader();
    const msg = (ns: number) => {
      const b = encodeControlMessage({ tunnelId: 1, sessionId: 0, ns, nr: 0, messageType: MT.HELLO, avps: {} });
      tryDecodeHeaderInto(b, 0, b.length, h);
      return l.b.receive(b, h);
    };
    assert.equal(msg(1), 'queued');
    assert.equal(msg(2), 'outOfWindow');
    assert.equal(msg(0xffff), 'duplicate');
    assert.deepEqual(l.delivered.b, []);
    assert.equal(msg(0), 'accepted');
    assert.deepEqual(l.delivered.b, [0, 1]);
    assert.equal(msg(1), 'duplicate');
    assert.equal(msg(2), 'accepted');
    assert.deepEqual(l.delivered.b, [0, 1, 2]);
    assert.equal(l.b.stats.nsOutOfWindow, 1);
    assert.equal(l.b.stats.duplicates, 2);
    // Nr acknowledging something never sent: dropped.
    const b = encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 3, nr: 5, messageType: MT.HELLO, avps: {} });
    tryDecodeHeaderInto(b, 0, b.length, h);
    assert.equal(l.b.receive(b, h), 'badNr');
    assert.deepEqual(l.delivered.b, [0, 1, 2]);
  });

  test('onSent runs once, when the message first leaves: not while it waits for the window, not on retransmission, never if closed first', () => {
    const l = link({ bWindow: 1 });
    l.a.setPeerWindow(1);
    const sentAt: number[][] = [[], [], []];
    const wireAt = () => l.wire.length;
    for (let i = 0; i < 3; i++) l.a.send(hello(), () => sentAt[i].push(wireAt()));
    // Window 1: only the first left; its callback ran after it was on the wire.
    assert.deepEqual(sentAt, [[1], [], []]);
    // The first copy of the first message is lost (retransmitted after 1 s, then
    // acknowledged); the second is never acknowledged, so the third keeps waiting.
    l.drop = (to) => to === 'b' && ((l.a.stats.retransmissions === 0 && l.a.stats.sent === 1) || sentAt[1].length > 0);
    l.run(1500);
    assert.equal(l.a.stats.retransmissions, 1);
    assert.equal(sentAt[0].length, 1, 'not again on retransmission');
    assert.equal(sentAt[1].length, 1, 'the second left once the first was acknowledged');
    assert.equal(sentAt[2].length, 0, 'the third waits for the window');
    l.a.close();
    l.run(5000);
    assert.equal(sentAt[2].length, 0, 'closed before it could leave');
  });
});
