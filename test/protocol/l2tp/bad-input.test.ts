/**
 * Bad input at the LNS: each case is answered as RFC 2661 says (StopCCN / CDN with the
 * right Result Code, or a silent counted drop) while another LAC's session keeps passing
 * data through the same endpoint.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { L2tpEndpoint } from '../../../src/protocol/l2tp/endpoint.js';
import type { L2tpSession } from '../../../src/protocol/l2tp/session.js';
import type { L2tpTunnel } from '../../../src/protocol/l2tp/tunnel.js';
import { decodeControlMessage, encodeControlMessage, type L2tpControl } from '../../../src/codec/l2tp/message.js';
import { L2tpMessageType as MT } from '../../../src/codec/l2tp/message-types.js';
import { L2tpGeneralError } from '../../../src/codec/l2tp/result-codes.js';
import { hideAvpValue } from '../../../src/codec/l2tp/hidden.js';
import { encodeHeaderInto } from '../../../src/codec/l2tp/header.js';
import { kind, seededBytes, type Datagram } from './net.js';
import { establish, LNS_ADDR, makePair, type Pair } from './helpers.js';

const SECRET = 'bad-input-secret';
const B_ADDR = '198.18.0.3';

interface World {
  p: Pair;
  /** The well-behaved LAC's session and what reached the LNS through it. */
  good: L2tpSession;
  goodRx: number[];
  /** The LAC that misbehaves, its tunnel, and the LNS side of it. */
  bad: L2tpEndpoint;
  badT: L2tpTunnel;
  lnsBadT: L2tpTunnel;
  /** Send one frame on the good session; returns whether the LNS got it. */
  goodPasses(): boolean;
}

function world(): World {
  const p = makePair({ secret: SECRET, hideAvps: true }, { secret: SECRET, hideAvps: true });
  const goodRx: number[] = [];
  p.lns.on('tunnel', (t) => t.on('session', (s) => (s.onFrame = (buf, off) => goodRx.push(buf[off]))));
  const { lacT } = establish(p);
  const good = lacT.openSession();
  const badAddr = { address: B_ADDR, port: 40000 };
  const bad = new L2tpEndpoint({ clock: p.net.clock, role: 'lac', hostName: 'bad.test', secret: SECRET, randomBytes: seededBytes(33), send: p.net.sender(badAddr) });
  p.net.attach(B_ADDR, (b, o, l, f) => bad.receive(b, o, l, f));
  const badT = bad.connect(p.lnsAddr);
  p.net.run(2000);
  assert.ok(good.isUp && badT.isUp);
  const lnsBadT = [...p.lns.tunnels.values()].find((t) => t.peer.address === B_ADDR)!;
  let n = 0;
  return {
    p,
    good,
    goodRx,
    bad,
    badT,
    lnsBadT,
    goodPasses() {
      const marker = ++n & 0xff;
      const buf = new Uint8Array(64);
      buf[20] = marker;
      good.sendFrame(buf, 20, 64);
      p.net.pump();
      return goodRx.at(-1) === marker;
    },
  };
}

/** Control messages the LNS sent to B since `since`. */
function lnsToB(w: World, since: number): L2tpControl[] {
  return w.p.net.sent
    .slice(since)
    .filter((d: Datagram) => d.from.address === LNS_ADDR && d.to.address === B_ADDR && kind(d) !== 'ZLB' && kind(d) !== 'data')
    .map((d) => decodeControlMessage(d.data, { secret: SECRET }))
    .filter((m): m is L2tpControl => !m.zlb);
}

/** Inject raw octets from B's address. */
function inject(w: World, data: Uint8Array): void {
  w.p.lns.receive(data, 0, data.length, { address: B_ADDR, port: 40000 });
  w.p.net.pump();
}

/** Send crafted control octets through B's own reliable transport (valid Ns/Nr). */
function sendReliable(w: World, fields: Parameters<typeof encodeControlMessage>[0]): void {
  w.badT.reliable.send(encodeControlMessage(fields));
  w.p.net.pump();
}

describe('L2TP bad input at the LNS', () => {
  test('truncated header, L2F (Ver 1) and L2TPv3: silently dropped and counted', () => {
    const w = world();
    const before = w.p.net.sent.length;
    inject(w, Uint8Array.of(0xc8));
    inject(w, Uint8Array.of(0xc8, 0x02, 0x00));
    inject(w, Uint8Array.of(0x00, 0x01, 0, 0, 0, 0, 0, 0));
    inject(w, Uint8Array.of(0x00, 0x03, 0, 0, 0, 0, 0, 0));
    assert.equal(w.p.net.sent.length, before, 'no answer');
    const c = w.p.lns.counters.header;
    assert.equal(c.L2TP_ERR_TRUNCATED, 2);
    assert.equal(c.L2TP_ERR_VERSION_L2F, 1);
    assert.equal(c.L2TP_ERR_VERSION_L2TPV3, 1);
    assert.ok(w.goodPasses());
    assert.ok(w.lnsBadT.isUp);
  });

  test('control and data for unknown tunnel or session IDs: dropped and counted', () => {
    const w = world();
    const before = w.p.net.sent.length;
    const ctl = encodeControlMessage({ tunnelId: 0xfffe === w.lnsBadT.localTunnelId ? 0xfffd : 0xfffe, sessionId: 0, ns: 0, nr: 0, messageType: MT.HELLO, avps: {} });
    inject(w, ctl);
    const data = new Uint8Array(20);
    encodeHeaderInto(data, 0, { tunnelId: w.lnsBadT.localTunnelId, sessionId: 0x4242, length: 20 });
    inject(w, data);
    assert.equal(w.p.lns.counters.unknownTunnel, 1);
    assert.equal(w.lnsBadT.counters.unknownSession, 1);
    assert.equal(w.p.net.sent.length, before);
    assert.ok(w.goodPasses());
  });

  test('Ns far outside the window: dropped and counted, tunnel unaffected', () => {
    const w = world();
    const m = encodeControlMessage({ tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 3000, nr: 1, messageType: MT.StopCCN, avps: { assignedTunnelId: w.badT.localTunnelId, resultCode: { resultCode: 1 } } });
    inject(w, m);
    assert.equal(w.lnsBadT.counters.nsOutOfWindow, 1);
    assert.ok(w.lnsBadT.isUp, 'the StopCCN outside the window was not processed');
    // An Nr acknowledging messages never sent is dropped too.
    const m2 = encodeControlMessage({ tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 2, nr: 9000, messageType: MT.HELLO, avps: {} });
    inject(w, m2);
    assert.equal(w.lnsBadT.counters.badNr, 1);
    assert.ok(w.lnsBadT.isUp);
    assert.ok(w.goodPasses());
  });

  test('AVP length that overruns the message: StopCCN result 2, error 2 (bad length)', () => {
    const w = world();
    const since = w.p.net.sent.length;
    const buf = encodeControlMessage({ tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 0, nr: 0, messageType: MT.HELLO, avps: {} });
    // Message Type AVP claims 200 octets.
    buf[12] = (buf[12] & 0xfc) | 0;
    buf[13] = 200;
    w.badT.reliable.send(buf);
    w.p.net.pump();
    const stop = lnsToB(w, since).find((m) => m.messageType === MT.StopCCN);
    assert.ok(stop, 'StopCCN sent');
    assert.equal(stop.avps.resultCode?.resultCode, 2);
    assert.equal(stop.avps.resultCode?.errorCode, L2tpGeneralError.BadLength);
    assert.ok(!w.lnsBadT.isUp);
    assert.equal(w.badT.state, 'closing', 'B got the StopCCN');
    assert.equal(w.lnsBadT.counters.decodeErrors.L2TP_ERR_AVP_TRUNCATED, 1);
    assert.ok(w.goodPasses());
  });

  test('unknown mandatory AVP in a tunnel message: StopCCN result 2, error 8 naming the AVP', () => {
    const w = world();
    const since = w.p.net.sent.length;
    sendReliable(w, {
      tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 0, nr: 0, messageType: MT.HELLO, avps: {},
      extraAvps: [{ mandatory: true, hidden: false, reserved: 0, vendorId: 9999, attributeType: 77, value: Uint8Array.of(1, 2) }],
    });
    const stop = lnsToB(w, since).find((m) => m.messageType === MT.StopCCN)!;
    assert.deepEqual(stop.avps.resultCode, { resultCode: 2, errorCode: L2tpGeneralError.UnknownMandatoryAvp, errorMessage: 'unknown mandatory AVP: vendor 9999 attribute 77' });
    assert.ok(w.goodPasses());
  });

  test('unknown mandatory AVP in a session message: CDN result 2, error 8 for that session only', () => {
    const w = world();
    const s = w.badT.openSession();
    w.p.net.run(500);
    assert.ok(s.isUp);
    const lnsSession = [...w.lnsBadT.sessions.values()][0];
    const since = w.p.net.sent.length;
    sendReliable(w, {
      tunnelId: w.lnsBadT.localTunnelId, sessionId: lnsSession.localId, ns: 0, nr: 0, messageType: MT.SLI, avps: {},
      extraAvps: [{ mandatory: true, hidden: false, reserved: 0, vendorId: 0, attributeType: 200, value: new Uint8Array(0) }],
    });
    w.p.net.run(200);
    const cdn = lnsToB(w, since).find((m) => m.messageType === MT.CDN)!;
    assert.equal(cdn.avps.resultCode?.resultCode, 2);
    assert.equal(cdn.avps.resultCode?.errorCode, L2tpGeneralError.UnknownMandatoryAvp);
    assert.equal(cdn.header.sessionId, s.localId);
    assert.equal(lnsSession.state, 'closed');
    assert.equal(s.state, 'closed', 'the LAC got the CDN');
    assert.ok(w.lnsBadT.isUp, 'the tunnel stays');
    assert.ok(w.goodPasses());
  });

  test('unknown mandatory AVP in an ICRQ: refused with CDN to its Assigned Session ID', () => {
    const w = world();
    const since = w.p.net.sent.length;
    sendReliable(w, {
      tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 0, nr: 0, messageType: MT.ICRQ, avps: { assignedSessionId: 0x1234, callSerialNumber: 1 },
      extraAvps: [{ mandatory: true, hidden: false, reserved: 0, vendorId: 311, attributeType: 1, value: new Uint8Array(4) }],
    });
    const cdn = lnsToB(w, since).find((m) => m.messageType === MT.CDN)!;
    assert.equal(cdn.header.sessionId, 0x1234);
    assert.equal(cdn.avps.resultCode?.errorCode, L2tpGeneralError.UnknownMandatoryAvp);
    assert.equal(w.lnsBadT.sessions.size, 0);
    assert.ok(w.lnsBadT.isUp);
  });

  test('hidden AVP whose decrypted length lies: CDN result 2, error 2 for that session', () => {
    const w = world();
    const s = w.badT.openSession();
    w.p.net.run(500);
    const lnsSession = [...w.lnsBadT.sessions.values()][0];
    const rv = new Uint8Array(16).fill(7);
    const hidden = hideAvpValue(14, Uint8Array.of(0x12, 0x34), SECRET, rv);
    hidden[0] ^= 0x7f; // the original-length field now claims ~32 k octets
    const since = w.p.net.sent.length;
    sendReliable(w, {
      tunnelId: w.lnsBadT.localTunnelId, sessionId: lnsSession.localId, ns: 0, nr: 0, messageType: MT.CDN,
      avps: { randomVector: rv, resultCode: { resultCode: 3 } },
      extraAvps: [{ mandatory: true, hidden: true, reserved: 0, vendorId: 0, attributeType: 14, value: hidden }],
    });
    w.p.net.run(200);
    const cdn = lnsToB(w, since).find((m) => m.messageType === MT.CDN)!;
    assert.equal(cdn.avps.resultCode?.resultCode, 2);
    assert.equal(cdn.avps.resultCode?.errorCode, L2tpGeneralError.BadLength);
    assert.equal(w.lnsBadT.counters.decodeErrors.L2TP_ERR_HIDDEN_AVP_LENGTH, 1);
    assert.equal(s.state, 'closed');
    assert.ok(w.lnsBadT.isUp);
    assert.ok(w.goodPasses());
  });

  test('unknown message type: M bit set clears the tunnel, M bit clear is ignored', () => {
    const w = world();
    const since = w.p.net.sent.length;
    const m = encodeControlMessage({ tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 0, nr: 0, messageType: 99, avps: {} });
    m[12] &= 0x7f; // clear M on the Message Type AVP
    w.badT.reliable.send(m);
    w.p.net.run(300);
    assert.ok(w.lnsBadT.isUp);
    assert.equal(w.lnsBadT.counters.decodeErrors.L2TP_ERR_IGNORABLE_MESSAGE_TYPE, 1);
    sendReliable(w, { tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 0, nr: 0, messageType: 99, avps: {} });
    const stop = lnsToB(w, since).find((x) => x.messageType === MT.StopCCN)!;
    assert.equal(stop.avps.resultCode?.resultCode, 2);
    assert.ok(!w.lnsBadT.isUp);
    assert.ok(w.goodPasses());
  });

  test('a message out of state (SCCRP on an established tunnel): StopCCN result 7', () => {
    const w = world();
    const since = w.p.net.sent.length;
    sendReliable(w, { tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 0, nr: 0, messageType: MT.SCCRP, avps: { protocolVersion: { version: 1, revision: 0 }, hostName: 'x', framingCapabilities: 3, assignedTunnelId: 5 } });
    const stop = lnsToB(w, since).find((x) => x.messageType === MT.StopCCN)!;
    assert.equal(stop.avps.resultCode?.resultCode, 7);
    assert.ok(w.goodPasses());
  });

  test('SCCRQ with protocol version 2.0: StopCCN result 5 with the highest version (1.0)', () => {
    const p = makePair();
    const m = encodeControlMessage({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, messageType: MT.SCCRQ, avps: { protocolVersion: { version: 2, revision: 0 }, hostName: 'v2', framingCapabilities: 3, assignedTunnelId: 77 } });
    p.lns.receive(m, 0, m.length, { address: '198.18.0.9', port: 1701 });
    p.net.pump();
    const stop = p.net.sent.map((d) => decodeControlMessage(d.data)).find((m) => !m.zlb && m.messageType === MT.StopCCN) as L2tpControl;
    assert.equal(stop.header.tunnelId, 77);
    assert.deepEqual(stop.avps.resultCode, { resultCode: 5, errorCode: 0x0100, errorMessage: 'protocol version 2.0' });
  });

  test('stats(): every drop reason in one flat map, kept after the tunnel is gone', () => {
    const w = world();
    inject(w, Uint8Array.of(0x00, 0x01, 0, 0, 0, 0));
    const m = encodeControlMessage({ tunnelId: w.lnsBadT.localTunnelId, sessionId: 0, ns: 3000, nr: 1, messageType: MT.HELLO, avps: {} });
    inject(w, m);
    w.badT.close();
    w.p.net.run(40_000, 100);
    assert.equal(w.lnsBadT.state, 'closed');
    const st = w.p.lns.stats();
    assert.equal(st.drops['header.L2TP_ERR_VERSION_L2F'], 1);
    assert.equal(st.drops.nsOutOfWindow, 1);
    assert.equal(st.tunnelsOpened, 2);
    assert.equal(st.tunnelsClosed, 1);
  });

  test('fuzz: random datagrams and mutated messages never throw and never break the good session', () => {
    const w = world();
    const tid = w.lnsBadT.localTunnelId;
    const base = encodeControlMessage({ tunnelId: tid, sessionId: 0, ns: 2, nr: 1, messageType: MT.HELLO, avps: {}, extraAvps: [{ mandatory: false, hidden: false, reserved: 0, vendorId: 0, attributeType: 8, value: new TextEncoder().encode('vendor') }] });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((muts) => {
            const b = base.slice();
            for (const [i, v] of muts) b[i] = v;
            return b;
          }),
          fc.uint8Array({ minLength: 4, maxLength: 120 }).map((tail) => {
            const b = new Uint8Array(tail.length + 4);
            b.set(tail, 4);
            b[0] = tail[0] & 0xcb;
            b[1] = 0x02;
            b[4] = tid >> 8;
            b[5] = tid & 0xff;
            return b;
          }),
        ),
        (data) => {
          w.p.lns.receive(data, 0, data.length, { address: B_ADDR, port: 40000 });
          w.p.net.pump();
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
    assert.equal(w.p.lns.counters.internalErrors, 0, 'nothing unexpected was thrown inside');
    assert.ok(w.goodPasses(), 'the other tunnel\'s session still passes data');
  });
});
