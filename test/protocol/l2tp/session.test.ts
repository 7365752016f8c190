import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeHeader } from '../../../src/codec/l2tp/header.js';
import { L2tpMessageType as MT } from '../../../src/codec/l2tp/message-types.js';
import { L2TP_DATA_HEADER_MAX, type L2tpSession } from '../../../src/protocol/l2tp/session.js';
import { kind } from './net.js';
import { controls, establish, LAC_ADDR, LNS_ADDR, makePair, type EpOpts } from './helpers.js';

function frameBuf(tag: number, len = 40): { buf: Uint8Array; start: number; end: number } {
  const buf = new Uint8Array(L2TP_DATA_HEADER_MAX + len);
  buf[L2TP_DATA_HEADER_MAX] = 0xff;
  buf[L2TP_DATA_HEADER_MAX + 1] = 0x03;
  buf[L2TP_DATA_HEADER_MAX + 2] = tag;
  return { buf, start: L2TP_DATA_HEADER_MAX, end: buf.length };
}

function callSetup(lacOpts: EpOpts = {}, lnsOpts: EpOpts = {}, n = 1) {
  const p = makePair(lacOpts, lnsOpts);
  const lnsSessions: L2tpSession[] = [];
  const rxAtLns = new Map<number, number[]>();
  p.lns.on('tunnel', (t) =>
    t.on('session', (s) => {
      lnsSessions.push(s);
      s.onFrame = (b, off) => {
        const l = rxAtLns.get(s.localId) ?? [];
        l.push(b[off + 2]);
        rxAtLns.set(s.localId, l);
      };
    }),
  );
  const { lacT, lnsT } = establish(p);
  const lacSessions = Array.from({ length: n }, () => lacT.openSession());
  p.net.run(3000);
  return { p, lacT, lnsT, lacSessions, lnsSessions, rxAtLns };
}

describe('L2TP sessions', () => {
  test('20 sessions in one tunnel: random unique IDs on both sides, data kept apart', () => {
    const { p, lacT, lnsT, lacSessions, lnsSessions, rxAtLns } = callSetup({}, {}, 20);
    assert.equal(lacSessions.filter((s) => s.isUp).length, 20);
    assert.equal(lnsT.sessions.size, 20);
    assert.equal(new Set(lacSessions.map((s) => s.localId)).size, 20);
    assert.equal(new Set(lnsSessions.map((s) => s.localId)).size, 20);
    assert.ok(!lacSessions.some((s) => s.localId === 0));
    // IDs are not sequential.
    const sorted = lacSessions.map((s) => s.localId).sort((a, b) => a - b);
    assert.ok(sorted.some((v, i) => i > 0 && v !== sorted[i - 1] + 1));
    lacSessions.forEach((s, i) => {
      const f = frameBuf(i);
      assert.equal(s.sendFrame(f.buf, f.start, f.end), true);
    });
    p.net.pump();
    for (let i = 0; i < 20; i++) {
      const peerLocal = lacSessions[i].peerId;
      assert.deepEqual(rxAtLns.get(peerLocal), [i]);
    }
    // Call serial numbers are distinct.
    const icrqs = controls(p.net.sent).filter((c) => c.m.messageType === MT.ICRQ);
    assert.equal(new Set(icrqs.map((c) => c.m.avps.callSerialNumber)).size, 20);
    assert.equal(lacT.sessions.size, 20);
  });

  test('CDN from either side carries its result code; the other sessions stay', () => {
    const { p, lnsT, lacSessions, lnsSessions } = callSetup({}, {}, 3);
    let lnsReason = '';
    const lnsOf0 = lnsSessions.find((s) => s.localId === lacSessions[0].peerId)!;
    lnsOf0.on('down', (r) => (lnsReason = r));
    lacSessions[0].close({ resultCode: 3, errorCode: 0, errorMessage: 'user request' });
    p.net.pump();
    assert.match(lnsReason, /result 3 error 0 \(user request\)/);
    assert.equal(lnsT.sessions.size, 2);
    let lacResult: unknown;
    lacSessions[1].on('down', (_r, res) => (lacResult = res));
    lnsSessions.find((s) => s.localId === lacSessions[1].peerId)!.close({ resultCode: 10 });
    p.net.pump();
    assert.deepEqual(lacResult, { resultCode: 10 });
    assert.ok(lacSessions[2].isUp);
    const cdns = controls(p.net.sent).filter((c) => c.m.messageType === MT.CDN);
    assert.equal(cdns.length, 2);
    assert.equal(cdns[0].m.avps.assignedSessionId, lacSessions[0].localId);
    assert.equal(cdns[0].m.header.sessionId, lacSessions[0].peerId);
  });

  test('a LAC withdrawing its call before the ICRP arrives (CDN to session 0) clears the LNS side', () => {
    const p = makePair();
    const lnsSessions: L2tpSession[] = [];
    p.lns.on('tunnel', (t) => t.on('session', (s) => lnsSessions.push(s)));
    const { lacT } = establish(p);
    p.net.run(500);
    let n = 0;
    p.net.policy = (d) => (kind(d) === 'ICRP' && n++ === 0 ? 'drop' : 'pass');
    const s = lacT.openSession();
    p.net.pump();
    assert.equal(s.state, 'wait-reply');
    assert.equal(lnsSessions[0].state, 'wait-connect');
    s.close();
    p.net.run(5000);
    const cdn = controls(p.net.sent).find((c) => c.m.messageType === MT.CDN)!;
    assert.equal(cdn.m.header.sessionId, 0);
    assert.equal(lnsSessions[0].state, 'closed');
  });

  test('LNS refuses calls over maxSessions with CDN result 4', () => {
    const { lacSessions, p } = callSetup({}, { tunnel: { maxSessions: 2 } }, 3);
    assert.equal(lacSessions.filter((s) => s.isUp).length, 2);
    const refused = lacSessions.find((s) => !s.isUp)!;
    assert.equal(refused.state, 'closed');
    const cdn = controls(p.net.sent).find((c) => c.m.messageType === MT.CDN)!;
    assert.equal(cdn.m.avps.resultCode?.resultCode, 4);
  });

  test('data header: no sequencing and no L bit by default (xl2tpd kernel style 0x0002)', () => {
    const { p, lacSessions } = callSetup();
    const s = lacSessions[0];
    const f = frameBuf(7);
    const start = s.encapsulate(f.buf, f.start, f.end);
    assert.equal(start, L2TP_DATA_HEADER_MAX - 6);
    const h = decodeHeader(f.buf.subarray(start));
    assert.deepEqual([f.buf[start], f.buf[start + 1]], [0x00, 0x02]);
    assert.equal(h.tunnelId, p.lns.tunnels.values().next().value!.localTunnelId);
    assert.equal(h.sessionId, s.peerId);
    assert.equal(h.payloadLength, 40);
  });

  test('data header with L bit and Sequencing Required from the LAC: both sides number data', () => {
    const { p, lacSessions, lnsSessions } = callSetup({ tunnel: { dataLengthBit: true, sequencingRequired: true } });
    const s = lacSessions[0];
    const iccn = controls(p.net.sent).find((c) => c.m.messageType === MT.ICCN)!;
    assert.equal(iccn.m.avps.sequencingRequired, true);
    assert.ok(lnsSessions[0].sendSequence, 'the LNS must sequence when the LAC requires it');
    for (let i = 0; i < 3; i++) {
      const f = frameBuf(i);
      s.sendFrame(f.buf, f.start, f.end);
    }
    p.net.pump();
    const data = p.net.sent.filter((d) => kind(d) === 'data');
    const hs = data.map((d) => decodeHeader(d.data));
    assert.deepEqual(hs.map((h) => [h.hasLength, h.hasSequence, h.ns, h.length]), [
      [true, true, 0, 52],
      [true, true, 1, 52],
      [true, true, 2, 52],
    ]);
  });

  test('sequencing on: old data (Ns behind) is dropped and counted; the LAC follows the LNS on/off', () => {
    const { p, lacSessions, lnsSessions } = callSetup({}, { tunnel: { sequencing: true } });
    const lac = lacSessions[0];
    const lns = lnsSessions[0];
    assert.equal(lac.sendSequence, false, 'the LAC waits for the LNS to decide');
    const got: number[] = [];
    lac.onFrame = (b, off) => got.push(b[off + 2]);
    // Hold the first data message so the second overtakes it.
    let held = 0;
    p.net.policy = (d) => (kind(d) === 'data' && held++ === 0 ? 'hold' : 'pass');
    for (let i = 1; i <= 3; i++) {
      const f = frameBuf(i);
      lns.sendFrame(f.buf, f.start, f.end);
    }
    p.net.pump();
    assert.deepEqual(got, [2, 1, 3].filter((x) => x !== 1), 'the late frame 1 was dropped');
    assert.equal(lac.stats.drops.sequence, 1);
    assert.equal(lac.sendSequence, true, 'numbered data from the LNS turns the LAC\'s numbering on');
    p.net.policy = () => 'pass';
    // Sequencing off at the LNS: the LAC stops numbering too.
    (lns as unknown as { sendSequence: boolean }).sendSequence = false;
    const f = frameBuf(9);
    lns.sendFrame(f.buf, f.start, f.end);
    p.net.pump();
    assert.equal(lac.sendSequence, false);
  });

  test('data before the session is up or for a closed session is dropped and counted', () => {
    const { p, lacSessions, lnsT } = callSetup({}, {}, 2);
    const s = lacSessions[0];
    const f = frameBuf(1);
    s.close();
    p.net.pump();
    assert.equal(s.sendFrame(f.buf, f.start, f.end), false);
    assert.equal(s.stats.drops.notReady, 1);
    // A data message for the closed session at the LNS.
    const buf = new Uint8Array(20);
    buf[1] = 2;
    buf[2] = lnsT.localTunnelId >> 8;
    buf[3] = lnsT.localTunnelId & 0xff;
    buf[4] = s.peerId >> 8;
    buf[5] = s.peerId & 0xff;
    p.lns.receive(buf, 0, 20, { address: LAC_ADDR, port: 40000 });
    assert.equal(lnsT.counters.unknownSession, 1);
    // Too little headroom.
    const small = new Uint8Array(10);
    assert.equal(lacSessions[1].encapsulate(small, 2, 10), -1);
    assert.equal(lacSessions[1].stats.drops.headroom, 1);
  });

  test('fuzz: data messages with any flags/Ns for a live session never throw', () => {
    const { p, lnsT, lacSessions } = callSetup();
    const s = lacSessions[0];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 60 }), (flagsNs, body) => {
        const b = new Uint8Array(12 + body.length);
        b[0] = (flagsNs >> 8) & 0x4b;
        b[1] = 0x02;
        let q = 2;
        if (b[0] & 0x40) {
          b[q++] = 0;
          b[q++] = b.length;
        }
        b[q++] = lnsT.localTunnelId >> 8;
        b[q++] = lnsT.localTunnelId & 0xff;
        b[q++] = s.peerId >> 8;
        b[q++] = s.peerId & 0xff;
        b[q++] = flagsNs & 0xff;
        b.set(body.subarray(0, b.length - q), q);
        p.lns.receive(b, 0, b.length, { address: LAC_ADDR, port: 40000 });
      }),
      { numRuns: 1000, seed: 7 },
    );
    assert.equal(p.lns.counters.internalErrors, 0);
    void LNS_ADDR;
  });
});
