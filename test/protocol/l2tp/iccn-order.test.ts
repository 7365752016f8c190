/**
 * PPP starts on the LAC only once its ICCN has left (RFC 2661 §6: the LAC's call is
 * established when ICCN is sent), even when the ICCN waits behind a full send window; and
 * the LNS keeps PPP frames whose ICCN is held in its reorder queue, but drops and counts
 * PPP from a LAC that sends it before any ICCN.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { L2tpEndpoint } from '../../../src/protocol/l2tp/endpoint.js';
import { L2tpLns } from '../../../src/protocol/l2tp/lns.js';
import { L2tpCall } from '../../../src/protocol/l2tp/call.js';
import type { L2tpTunnel } from '../../../src/protocol/l2tp/tunnel.js';
import { LocalVerifier } from '../../../src/protocol/ppp/auth/index.js';
import { decodeHeader } from '../../../src/codec/l2tp/header.js';
import { kind, Net, seededBytes, type Datagram } from './net.js';
import { establish, makePair } from './helpers.js';
import { prng } from '../ppp/link-harness.js';

const LAC = { address: '198.18.2.1', port: 42000 };
const LNS = { address: '198.18.2.2', port: 1701 };
const PASSWORD = 'iccn-Order-7';

interface Rig {
  net: Net;
  lacT: L2tpTunnel;
  lacCalls: L2tpCall[];
  lnsCalls: L2tpCall[];
  lns: L2tpLns;
}

/** One LAC tunnel carrying `n` calls opened at once to an L2tpLns advertising window `rws`. */
function rig(n: number, rws: number): Rig {
  const net = new Net();
  const lnsCalls: L2tpCall[] = [];
  const lns = new L2tpLns({
    clock: net.clock,
    hostName: 'lns',
    tunnel: { receiveWindow: rws },
    pppFor: () => ({
      verifier: new LocalVerifier((u) => (u.startsWith('user') ? { password: PASSWORD } : undefined)),
      authentication: ['mschap2'],
      localAddress: '198.18.3.1',
      remoteAddress: '198.18.3.2',
      useEncryption: 'no',
      random: prng(7),
    }),
    randomBytes: seededBytes(303),
    send: net.sender(LNS),
  });
  lns.on('call', (c) => lnsCalls.push(c));
  const lacEp = new L2tpEndpoint({ clock: net.clock, role: 'lac', hostName: 'lac', randomBytes: seededBytes(404), send: net.sender(LAC) });
  net.attach(LAC.address, (b, o, l, f) => lacEp.receive(b, o, l, f));
  net.attach(LNS.address, (b, o, l, f) => lns.receive(b, o, l, f));
  const lacT = lacEp.connect(LNS);
  const lacCalls: L2tpCall[] = [];
  for (let i = 0; i < n; i++) {
    const s = lacT.openSession();
    lacCalls.push(new L2tpCall(lacT, s, net.clock, { role: 'client', user: `user${i}`, password: PASSWORD, allow: ['mschap2'], useEncryption: 'no', random: prng(100 + i) }));
  }
  return { net, lacT, lacCalls, lnsCalls, lns };
}

/** PPP protocol and code of a data datagram (LCP and friends are never ACFC/PFC-compressed). */
function ppp(d: Datagram): { session: number; protocol: number; code: number } | undefined {
  if (kind(d) !== 'data') return undefined;
  const h = decodeHeader(d.data);
  const p = h.headerLength;
  if (d.data[p] !== 0xff || d.data[p + 1] !== 0x03) return undefined;
  return { session: h.sessionId, protocol: (d.data[p + 2] << 8) | d.data[p + 3], code: d.data[p + 4] };
}

/** LCP Configure-Requests sent from `from`, per destination Session ID. */
function lcpConfReqs(ds: Datagram[], from: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const d of ds) {
    if (d.from.address !== from) continue;
    const f = ppp(d);
    if (f && f.protocol === 0xc021 && f.code === 1) m.set(f.session, (m.get(f.session) ?? 0) + 1);
  }
  return m;
}

describe('L2TP: PPP starts when the ICCN has left', () => {
  for (const rws of [1, 2, 4]) {
    test(`20 calls at once, LNS receive window ${rws}: no LCP before its ICCN, one LCP Configure-Request per call, all connected`, () => {
      const r = rig(20, rws);
      const ok = r.net.runUntil(() => r.lacCalls.every((c) => c.status === 'connected') && r.lnsCalls.length === 20 && r.lnsCalls.every((c) => c.status === 'connected'), 60_000);
      assert.ok(ok, `connected: LAC ${r.lacCalls.filter((c) => c.status === 'connected').length}/20, LNS ${r.lnsCalls.filter((c) => c.status === 'connected').length}`);
      // The window really was the bottleneck: the LNS never saw more outstanding than it allows.
      assert.ok(r.lacT.reliable.peerReceiveWindow === rws);
      // Every data datagram from the LAC comes after the first ICCN for that call.
      const iccnAt = new Map<number, number>();
      r.net.sent.forEach((d, i) => {
        if (d.from.address !== LAC.address) return;
        const k = kind(d);
        const sid = decodeHeader(d.data).sessionId;
        if (k === 'ICCN' && !iccnAt.has(sid)) iccnAt.set(sid, i);
        if (k === 'data') {
          const at = iccnAt.get(sid);
          assert.ok(at !== undefined && at < i, `data for session ${sid} at #${i} before its ICCN (${at})`);
        }
      });
      assert.equal(iccnAt.size, 20);
      // No LCP restart on either side: exactly one Configure-Request per call each way.
      const fromLac = lcpConfReqs(r.net.sent, LAC.address);
      const fromLns = lcpConfReqs(r.net.sent, LNS.address);
      assert.equal(fromLac.size, 20);
      assert.equal(fromLns.size, 20);
      assert.deepEqual([...fromLac.values()], Array(20).fill(1));
      assert.deepEqual([...fromLns.values()], Array(20).fill(1));
      // The LNS dropped no data for calls that were not up yet.
      assert.equal(r.lns.stats().drops['data.notReady'] ?? 0, 0);
    });
  }

  test('a LAC call closed while its ICCN waits for the window never starts PPP', () => {
    const r = rig(6, 1);
    // Run until some calls have their ICRP but their ICCN still waits.
    const ok = r.net.runUntil(() => r.lacCalls.some((c) => c.session.state === 'wait-iccn-sent'), 10_000, 1);
    assert.ok(ok, 'an ICCN waited behind the window');
    const waiting = r.lacCalls.find((c) => c.session.state === 'wait-iccn-sent')!;
    assert.equal(waiting.link, undefined, 'no PPP link yet');
    const sid = waiting.session.peerId;
    waiting.hangup('user gave up');
    r.net.run(20_000);
    assert.equal(waiting.status, 'terminated');
    assert.equal(waiting.link, undefined);
    assert.ok(!r.net.sent.some((d) => d.from.address === LAC.address && kind(d) === 'data' && decodeHeader(d.data).sessionId === sid), 'no PPP for the withdrawn call');
    assert.equal(r.lacCalls.filter((c) => c.status === 'connected').length, 5);
  });
});

describe('L2TP LNS: PPP frames around the ICCN', () => {
  test('ICCN and the first LCP frame in one batch: the frame reaches PPP', () => {
    const r = rig(1, 4);
    // Deliver nothing until the LAC has sent both its ICCN and its first LCP frame, then
    // hand them to the LNS back to back.
    const parked: Datagram[] = [];
    r.net.policy = (d) => {
      if (d.to.address === LNS.address && (kind(d) === 'ICCN' || (parked.length > 0 && kind(d) === 'data'))) {
        parked.push(d);
        return 'drop';
      }
      return 'pass';
    };
    r.net.runUntil(() => parked.length >= 2, 10_000);
    assert.deepEqual(parked.map(kind), ['ICCN', 'data']);
    r.net.policy = () => 'pass';
    for (const d of parked) r.lns.receive(d.data, 0, d.data.length, d.from);
    assert.ok(r.net.runUntil(() => r.lacCalls[0].status === 'connected' && r.lnsCalls[0]?.status === 'connected', 20_000));
    assert.deepEqual([...lcpConfReqs(r.net.sent, LAC.address).values()], [1]);
    assert.equal(r.lns.stats().drops['data.notReady'] ?? 0, 0);
  });

  test('an ICCN held behind a lost control message: its PPP frames wait for it, no LCP restart', () => {
    const r = rig(2, 4);
    let dropped = false;
    // Lose the first ICCN once: the second ICCN then waits in the LNS's reorder queue.
    r.net.policy = (d) => {
      if (!dropped && d.to.address === LNS.address && kind(d) === 'ICCN') {
        dropped = true;
        return 'drop';
      }
      return 'pass';
    };
    assert.ok(r.net.runUntil(() => r.lacCalls.every((c) => c.status === 'connected') && r.lnsCalls.length === 2 && r.lnsCalls.every((c) => c.status === 'connected'), 30_000));
    assert.ok(dropped);
    // The second call's ICCN arrived out of order; its LCP frame was kept, not dropped.
    const second = r.lacCalls[1].session.peerId;
    assert.equal(lcpConfReqs(r.net.sent, LAC.address).get(second), 1);
  });

  test('LCP before any ICCN (a buggy LAC): dropped and counted, the call stays unconnected', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    let frames = 0;
    lnsT.on('session', (s) => (s.onFrame = () => frames++));
    // The LNS never gets an ICCN.
    p.net.policy = (d) => (kind(d) === 'ICCN' ? 'drop' : 'pass');
    lacT.openSession();
    p.net.run(500);
    const s = [...lnsT.sessions.values()][0];
    assert.equal(s.state, 'wait-connect');
    // LCP Configure-Request straight to the LNS session, with no ICCN before it.
    const lcp = [0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04];
    const dgram = new Uint8Array([0x00, 0x02, lnsT.localTunnelId >> 8, lnsT.localTunnelId & 0xff, s.localId >> 8, s.localId & 0xff, ...lcp]);
    const before = p.lns.stats().drops['data.notReady'] ?? 0;
    p.lns.receive(dgram, 0, dgram.length, p.lacAddr);
    p.lns.receive(dgram, 0, dgram.length, p.lacAddr);
    assert.equal(frames, 0);
    assert.equal((p.lns.stats().drops['data.notReady'] ?? 0) - before, 2);
    assert.equal(s.state, 'wait-connect');
  });
});
