import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { L2tpMessageType as MT } from '../../../src/codec/l2tp/message-types.js';
import { L2tpStopCcnResult } from '../../../src/codec/l2tp/result-codes.js';
import { decodeControlMessage, encodeControlMessage, encodeZlb } from '../../../src/codec/l2tp/message.js';
import { L2tpEndpoint } from '../../../src/protocol/l2tp/endpoint.js';
import { header, kind, seededBytes } from './net.js';
import { controls, establish, from, LAC_ADDR, LNS_ADDR, makePair } from './helpers.js';

const SECRET = 'tunnel-s3cret';

describe('L2TP tunnel setup', () => {
  test('SCCRQ/SCCRP/SCCCN then ZLB, with the Ns/Nr of RFC 2661 Appendix B.1', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    p.net.run(1000);
    const seq = p.net.sent.map((d) => [kind(d), header(d).ns, header(d).nr]);
    assert.deepEqual(seq, [
      ['SCCRQ', 0, 0],
      ['SCCRP', 0, 1],
      ['SCCCN', 1, 1],
      ['ZLB', 1, 2],
    ]);
    assert.equal(lacT.peerTunnelId, lnsT.localTunnelId);
    assert.equal(lnsT.peerTunnelId, lacT.localTunnelId);
    assert.equal(lnsT.peerHostName, 'lac.test');
    assert.equal(lacT.peerHostName, 'lns.test');
    // SCCRQ goes to tunnel 0; everything after carries the peer's Assigned Tunnel ID.
    assert.equal(header(p.net.sent[0]).tunnelId, 0);
    assert.equal(header(p.net.sent[1]).tunnelId, lacT.localTunnelId);
    assert.equal(header(p.net.sent[2]).tunnelId, lnsT.localTunnelId);
  });

  test('with a shared secret: challenges both ways, tunnel comes up', () => {
    const p = makePair({ secret: SECRET }, { secret: SECRET });
    establish(p);
    const cs = controls(p.net.sent, SECRET);
    const sccrq = cs.find((c) => c.m.messageType === MT.SCCRQ)!.m;
    const sccrp = cs.find((c) => c.m.messageType === MT.SCCRP)!.m;
    const scccn = cs.find((c) => c.m.messageType === MT.SCCCN)!.m;
    assert.equal(sccrq.avps.challenge?.length, 16);
    assert.equal(sccrp.avps.challenge?.length, 16);
    assert.equal(sccrp.avps.challengeResponse?.length, 16);
    assert.equal(scccn.avps.challengeResponse?.length, 16);
    // The secret never shows up in a log line.
    assert.ok(!p.logs.some((l) => l.includes(SECRET)));
  });

  for (const [name, lacSecret, lnsSecret] of [
    ['different secrets', 'one-secret', 'other-secret'],
    ['LNS has a secret, LAC none', undefined, SECRET],
    ['LAC has a secret, LNS none', SECRET, undefined],
  ] as const) {
    test(`refused with StopCCN result 4 (not authorized): ${name}`, () => {
      const p = makePair({ secret: lacSecret }, { secret: lnsSecret });
      const lacT = p.lac.connect(p.lnsAddr);
      const downs: string[] = [];
      lacT.on('down', (r) => downs.push(r));
      p.net.run(40_000);
      const stops = controls(p.net.sent).filter((c) => c.m.messageType === MT.StopCCN);
      assert.equal(stops.length >= 1, true, 'a StopCCN was sent');
      assert.equal(stops[0].m.avps.resultCode?.resultCode, L2tpStopCcnResult.NotAuthorized);
      assert.equal(lacT.state, 'closed');
      assert.equal(p.lns.tunnels.size, 0, 'the LNS dropped the tunnel');
      assert.equal(p.lac.tunnels.size, 0);
      assert.equal(downs.length, 1);
      assert.equal(p.net.clock.timerCount, 0, 'no timer left behind');
    });
  }
});

describe('L2TP tunnel teardown', () => {
  test('StopCCN is acknowledged; the sender closes on the ack, the receiver holds a full cycle (31 s)', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    p.net.run(500);
    const lnsDown: string[] = [];
    lnsT.on('down', (r) => lnsDown.push(r));
    const t0 = p.net.clock.now();
    let lnsClosedAt = -1;
    lnsT.on('closed', () => (lnsClosedAt = p.net.clock.now()));
    lacT.close();
    p.net.pump();
    assert.equal(lnsDown.length, 1);
    assert.match(lnsDown[0], /StopCCN result 1/);
    assert.equal(lacT.state, 'closed', 'sender closes once its StopCCN is acknowledged');
    assert.equal(lnsT.state, 'closing', 'receiver holds');
    const last = p.net.sent.slice(-2).map(kind);
    assert.deepEqual(last, ['StopCCN', 'ZLB']);
    p.net.run(40_000, 100);
    assert.equal(lnsClosedAt - t0, 31_000);
    assert.equal(p.lns.tunnels.size, 0);
    assert.equal(p.net.clock.timerCount, 0);
  });

  test('hold state: a retransmitted StopCCN (ZLB lost) is acknowledged again', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    p.net.run(500);
    let dropped = 0;
    p.net.policy = (d) => (kind(d) === 'ZLB' && d.from.address === LNS_ADDR && dropped++ === 0 ? 'drop' : 'pass');
    lacT.close();
    p.net.run(900);
    assert.equal(lacT.state, 'closing', 'StopCCN not yet acknowledged');
    p.net.run(200);
    assert.equal(lacT.state, 'closed', 'the retransmission at 1 s was acknowledged by the holding peer');
    assert.equal(lnsT.counters.duplicates, 1);
    assert.equal(p.net.sent.filter((d) => kind(d) === 'StopCCN').length, 2);
  });
});

describe('L2TP reliable delivery', () => {
  test('a lost SCCRQ is retransmitted after 1 s and the tunnel comes up', () => {
    const p = makePair();
    let n = 0;
    p.net.policy = (d) => (kind(d) === 'SCCRQ' && n++ === 0 ? 'drop' : 'pass');
    const lacT = p.lac.connect(p.lnsAddr);
    p.net.run(3000);
    assert.equal(lacT.isUp, true);
    const times = p.net.sent.filter((d) => kind(d) === 'SCCRQ').map((d) => d.t);
    assert.deepEqual(times, [0, 1000]);
  });

  test('back-off 1, 2, 4, 8, 8 s (capped at 8 s), then the tunnel is cleared after 5 retransmissions', () => {
    const p = makePair();
    p.net.policy = (d) => (d.from.address === LAC_ADDR ? 'drop' : 'pass');
    const lacT = p.lac.connect(p.lnsAddr);
    let downAt = -1;
    let why = '';
    lacT.on('down', (r) => {
      downAt = p.net.clock.now();
      why = r;
    });
    p.net.run(60_000, 100);
    const times = p.net.sent.filter((d) => kind(d) === 'SCCRQ').map((d) => d.t);
    assert.deepEqual(times, [0, 1000, 3000, 7000, 15000, 23000]);
    assert.equal(downAt, 31_000);
    assert.match(why, /not responding \(SCCRQ not acknowledged after 5 retransmissions\)/);
    assert.equal(lacT.state, 'closed');
    assert.equal(p.lac.tunnels.size, 0);
    assert.equal(p.net.clock.timerCount, 0);
  });

  test('a lost ICRP: the LAC retransmits ICRQ, the LNS acknowledges the duplicate without a second session (Appendix B.2)', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    p.net.run(1000);
    let n = 0;
    p.net.policy = (d) => (kind(d) === 'ICRP' && n++ === 0 ? 'drop' : 'pass');
    const s = lacT.openSession();
    p.net.run(5000);
    assert.equal(s.isUp, true);
    assert.equal(lnsT.sessions.size, 1, 'one session only');
    assert.equal(lnsT.counters.duplicates, 1);
    const icrqs = p.net.sent.filter((d) => kind(d) === 'ICRQ');
    assert.equal(icrqs.length, 2);
    assert.equal(header(icrqs[0]).ns, header(icrqs[1]).ns, 'same Ns on retransmission');
  });

  test('duplicated datagrams are acknowledged but processed once', () => {
    const p = makePair();
    p.net.policy = (d) => (kind(d) !== 'ZLB' && kind(d) !== 'data' ? 'dup' : 'pass');
    const lacT = p.lac.connect(p.lnsAddr);
    p.net.run(1000);
    const sessions = Array.from({ length: 3 }, () => lacT.openSession());
    p.net.run(2000);
    assert.ok(sessions.every((s) => s.isUp));
    const lnsT = [...p.lns.tunnels.values()][0];
    assert.equal(lnsT.sessions.size, 3);
    assert.ok(lnsT.counters.duplicates >= 4, `LNS saw ${lnsT.counters.duplicates} duplicates`);
    assert.ok(lacT.counters.duplicates >= 3);
    assert.equal(lnsT.counters.fsmErrors + lacT.counters.fsmErrors, 0);
  });

  test('reordered messages inside the window are queued and delivered in order', () => {
    const p = makePair({}, { tunnel: { receiveWindow: 8 } });
    const { lacT, lnsT } = establish(p);
    p.net.run(1000);
    let held = 0;
    // Hold the first ICRQ so that the second overtakes it.
    p.net.policy = (d) => (kind(d) === 'ICRQ' && held++ === 0 ? 'hold' : 'pass');
    const a = lacT.openSession();
    const b = lacT.openSession();
    p.net.run(2000);
    assert.ok(a.isUp && b.isUp);
    assert.equal(lnsT.transport.queuedOutOfOrder, 1);
    assert.equal(lnsT.transport.retransmissions, 0);
    assert.equal(lacT.transport.retransmissions, 0, 'no retransmission needed');
  });

  test('never more unacknowledged messages than the peer\'s Receive Window Size; slow start grows CWND', () => {
    const p = makePair({}, { tunnel: { receiveWindow: 3, ackDelayMs: 300 } });
    const { lacT } = establish(p);
    p.net.run(1000);
    assert.equal(lacT.reliable.peerReceiveWindow, 3);
    let max = 0;
    const orig = p.net.policy;
    p.net.policy = (d) => {
      if (d.from.address === LAC_ADDR) max = Math.max(max, lacT.reliable.outstanding);
      return orig(d);
    };
    for (let i = 0; i < 20; i++) lacT.openSession();
    p.net.run(10_000);
    assert.equal([...lacT.sessions.values()].filter((s) => s.isUp).length, 20);
    assert.equal(max, 3, 'the window filled but never overflowed');
    assert.equal(lacT.transport.retransmissions, 0);
  });

  test('a ZLB acknowledges when there is nothing to piggyback on', () => {
    const p = makePair({}, { tunnel: { ackDelayMs: 100 } });
    const { lacT } = establish(p);
    p.net.run(1000);
    const before = p.net.sent.length;
    lacT.openSession();
    p.net.run(1000);
    const after = p.net.sent.slice(before).map((d) => [kind(d), d.from.address, d.t - p.net.sent[before].t]);
    // ICRQ, ICRP (carries the ack of ICRQ), ICCN, then the LNS acks ICCN with a ZLB after the delay.
    assert.deepEqual(after.map((x) => x[0]), ['ICRQ', 'ICRP', 'ICCN', 'ZLB']);
    assert.equal(after[3][1], LNS_ADDR);
    assert.equal(after[3][2], 100);
    const icrp = p.net.sent[before + 1];
    const iccn = p.net.sent[before + 2];
    const zlb = p.net.sent[before + 3];
    assert.equal(header(icrp).nr, (header(p.net.sent[before]).ns + 1) & 0xffff);
    assert.equal(header(zlb).nr, (header(iccn).ns + 1) & 0xffff);
  });
});

describe('L2TP keepalive', () => {
  test('Hello after helloInterval of silence is acknowledged; the tunnel stays up', () => {
    const p = makePair({ tunnel: { helloInterval: 10 } }, { tunnel: { helloInterval: 30 } });
    const { lacT, lnsT } = establish(p);
    p.net.run(65_000, 100);
    const hellos = p.net.sent.filter((d) => kind(d) === 'HELLO');
    assert.ok(hellos.length >= 5, `${hellos.length} hellos`);
    const first = hellos[0];
    assert.equal(first.from.address, LAC_ADDR);
    assert.ok(first.t >= 10_000 && first.t <= 10_200, `first hello at ${first.t}`);
    assert.ok(lacT.isUp && lnsT.isUp);
  });

  test('a silent peer is detected: Hello unacknowledged through the retry limit clears the tunnel', () => {
    const p = makePair({ tunnel: { helloInterval: 10 } }, { tunnel: { helloInterval: 0 } });
    const { lacT } = establish(p);
    const s = lacT.openSession();
    p.net.run(1000);
    assert.ok(s.isUp);
    const silentFrom = p.net.clock.now();
    p.net.policy = (d) => (d.from.address === LNS_ADDR ? 'drop' : 'pass');
    let downAt = -1;
    let sessionDown = '';
    lacT.on('down', () => (downAt = p.net.clock.now()));
    s.on('down', (r) => (sessionDown = r));
    p.net.run(60_000, 100);
    const hellos = p.net.sent.filter((d) => kind(d) === 'HELLO' && d.t >= silentFrom);
    assert.equal(hellos.length, 6, 'Hello plus 5 retransmissions');
    assert.ok(downAt > 0 && downAt - hellos[0].t === 31_000, `down ${downAt - hellos[0].t} ms after the Hello`);
    assert.match(sessionDown, /not responding \(HELLO not acknowledged after 5 retransmissions\)/);
  });
});

describe('L2TP peer address', () => {
  test('the LNS follows a LAC that moves its source port (tracked by tunnel ID)', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    const s = lacT.openSession();
    p.net.run(1000);
    assert.ok(s.isUp);
    p.lacAddr.port = 40001;
    lacT.openSession();
    p.net.run(1000);
    assert.equal(lnsT.peer.port, 40001);
    const last = p.net.sent.filter((d) => d.from.address === LNS_ADDR).at(-1)!;
    assert.equal(last.to.port, 40001);
    assert.equal(last.from.port, 1701, 'the server answers from 1701');
  });

  test('a stale ZLB from another port (acknowledging nothing new) does not move the tunnel', () => {
    const p = makePair();
    const { lacT, lnsT } = establish(p);
    p.net.run(1000);
    const z = encodeZlb({ tunnelId: lnsT.localTunnelId, sessionId: 0, ns: 2, nr: 1 });
    p.lns.receive(z, 0, z.length, { address: LAC_ADDR, port: 6666 });
    assert.equal(lnsT.peer.port, 40000);
    // Messages outside the window from elsewhere do not move it either.
    const m = encodeControlMessage({ tunnelId: lnsT.localTunnelId, sessionId: 0, ns: 999, nr: 1, messageType: MT.HELLO, avps: {} });
    p.lns.receive(m, 0, m.length, { address: '198.18.0.66', port: 1701 });
    assert.deepEqual(lnsT.peer, { address: LAC_ADDR, port: 40000 });
    assert.ok(lacT.isUp && lnsT.isUp);
  });

  test('the LAC follows an SCCRP that comes from another port than 1701', () => {
    const p = makePair();
    p.lnsAddr.port = 1701;
    const lacT = p.lac.connect({ address: LNS_ADDR });
    // The LNS answers from port 5000 (RFC 2661 §8.1 allows it).
    p.lnsAddr.port = 5000;
    p.net.run(1000);
    assert.ok(lacT.isUp);
    assert.equal(lacT.peer.port, 5000);
    const scccn = p.net.sent.find((d) => kind(d) === 'SCCCN')!;
    assert.equal(scccn.to.port, 5000);
  });
});

describe('L2TP tie breaker (RFC 2661 §4.4.3)', () => {
  function crossDial(aOpts: { tieBreaker: boolean; seed?: number }, bOpts: { tieBreaker: boolean; seed?: number }) {
    const p = makePair({ acceptTunnels: true, role: 'lns', tieBreaker: aOpts.tieBreaker }, { tieBreaker: bOpts.tieBreaker });
    const a = p.lac.connect(p.lnsAddr);
    const b = p.lns.connect({ address: LAC_ADDR, port: 40000 });
    p.net.run(5000);
    return { p, a, b };
  }

  test('the lower Tie Breaker wins: one tunnel, initiated by the winner', () => {
    const { p, a, b } = crossDial({ tieBreaker: true }, { tieBreaker: true });
    const aWins = Buffer.compare(Buffer.from(a.tieBreaker!), Buffer.from(b.tieBreaker!)) < 0;
    const winner = aWins ? a : b;
    const loser = aWins ? b : a;
    assert.equal(winner.isUp, true);
    assert.equal(loser.state, 'closed');
    assert.match(loser.reason!, /tie breaker lost/);
    assert.equal(p.lac.tunnels.size, 1);
    assert.equal(p.lns.tunnels.size, 1);
    assert.ok([...p.lac.tunnels.values()][0].isUp && [...p.lns.tunnels.values()][0].isUp);
    // The loser sent no StopCCN: it discards silently.
    assert.equal(p.net.sent.filter((d) => kind(d) === 'StopCCN').length, 0);
  });

  test('equal Tie Breakers: both tunnels discarded', () => {
    // Same seed on both sides: the same tie-breaker draws.
    const p = makePair({ acceptTunnels: true, role: 'lns', tieBreaker: true, randomBytes: seededBytes(5) }, { tieBreaker: true, randomBytes: seededBytes(5) });
    const a = p.lac.connect(p.lnsAddr);
    const b = p.lns.connect({ address: LAC_ADDR, port: 40000 });
    assert.deepEqual(a.tieBreaker, b.tieBreaker);
    p.net.run(5000);
    assert.equal(a.state, 'closed');
    assert.equal(b.state, 'closed');
    assert.equal(p.lac.tunnels.size + p.lns.tunnels.size, 0);
  });

  test('a Tie Breaker beats none', () => {
    const { p, a, b } = crossDial({ tieBreaker: false }, { tieBreaker: true });
    assert.equal(b.isUp, true);
    assert.equal(a.state, 'closed');
    assert.equal(p.lac.tunnels.size, 1);
  });

  test('no Tie Breaker on either side: two tunnels', () => {
    const { p, a, b } = crossDial({ tieBreaker: false }, { tieBreaker: false });
    assert.ok(a.isUp && b.isUp);
    assert.equal(p.lac.tunnels.size, 2);
    assert.equal(p.lns.tunnels.size, 2);
  });
});

test('StopCCN from the peer decodes with its result code', () => {
  const p = makePair();
  const { lacT, lnsT } = establish(p);
  lnsT.close({ resultCode: L2tpStopCcnResult.ShuttingDown, errorCode: 0, errorMessage: 'bye' });
  let r: unknown;
  lacT.on('down', (_why, result) => (r = result));
  p.net.run(100);
  const stop = decodeControlMessage(from(p.net.sent, LNS_ADDR).find((d) => kind(d) === 'StopCCN')!.data);
  assert.equal(stop.zlb, false);
  assert.deepEqual(r, { resultCode: 6, errorCode: 0, errorMessage: 'bye' });
});

test('bad tunnel settings are refused with ConfigError, not a silent dead tunnel', () => {
  const bad = [{ hostName: '' }, { tunnel: { helloInterval: -1 } }, { tunnel: { maxRtoMs: 5000 } }, { tunnel: { receiveWindow: 0 } }, { tunnel: { retries: -1 } }];
  for (const o of bad) {
    // Refused when the endpoint is made (start-up), before any peer calls.
    assert.throws(() => makePair(o as never), { name: 'ConfigError', code: 'CONFIG_ERR_INVALID_VALUE' }, JSON.stringify(o));
  }
});

test('a redial reusing the same Assigned Tunnel ID during the hold state gets a new tunnel', () => {
  const p = makePair({ randomBytes: seededBytes(99) });
  const first = p.lac.connect(p.lnsAddr);
  p.net.run(1000);
  const lnsFirst = [...p.lns.tunnels.values()][0];
  first.close();
  p.net.run(1000);
  assert.equal(lnsFirst.state, 'closing', 'the LNS holds the old tunnel');
  // Same seed again: the new LAC tunnel draws the same tunnel ID.
  const p2lac = new L2tpEndpoint({ clock: p.net.clock, role: 'lac', hostName: 'lac.test', randomBytes: seededBytes(99), send: p.net.sender(p.lacAddr) });
  p.net.attach(LAC_ADDR, (b, o, l, f) => p2lac.receive(b, o, l, f));
  const again = p2lac.connect(p.lnsAddr);
  assert.equal(again.localTunnelId, first.localTunnelId);
  p.net.run(1000);
  assert.ok(again.isUp, 'redial came up during the old tunnel\'s hold');
  assert.equal(lnsFirst.state, 'closing');
});
