import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { create, encode, PptpControlType as T, sccrq } from '../../../src/codec/pptp/index.js';
import { PPTP_IP_HEADROOM } from '../../../src/protocol/pptp/call.js';
import { CallIdAllocator } from '../../../src/protocol/pptp/call-ids.js';
import { ipPacket, prng, USER, world, type ClientEnd, type World } from './harness.js';

const CLIENT_ADDR = 0xc6120014; // 198.18.0.20

/** An IPv4 packet whose Identification field is `i`. */
function numbered(i: number, len: number): Uint8Array {
  const p = ipPacket(len, i & 0xff);
  p[4] = i >> 8;
  p[5] = i & 0xff;
  return p;
}

function connected(w: World, ...ends: ClientEnd[]): void {
  const ok = w.net.runUntil(() => ends.every((e) => e.call.status === 'connected') && w.server.calls.every((c) => c.status === 'connected'), 30_000);
  assert.ok(ok, `not connected: ${ends.map((e) => `${e.name} ${e.call.status} ${e.call.reason ?? ''}`).join(', ')}`);
}

/** The seed-002 termination exchange, as it appears on the wire. */
const TEARDOWN = ['Set-Link-Info', 'LCP TermReq', 'LCP TermAck', 'Call-Clear-Request', 'Call-Disconnect-Notify', 'StopCCRQ', 'StopCCRP', 'close'];

describe('PPTP client <-> server: setup and status', () => {
  test('client dials, authenticates with MS-CHAPv2, MPPE-128 comes up; monitor statuses in order', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    assert.deepEqual(c.statuses.map((s) => s.status), ['dialing', 'verifying password...', 'connected']);
    const info = c.statuses[2].info!;
    assert.equal(info.authMethod, 'mschap2');
    assert.equal(info.encoding, 'MPPE128 stateless');
    assert.equal(info.localAddress.startsWith('198.18.5.'), true);
    // seed 002 "PPTP control connection creation", steps 2-6
    assert.deepEqual(w.net.trace(['SCCRQ', 'SCCRP', 'OCRQ', 'OCRP', 'Set-Link-Info']), ['cli>server SCCRQ', 'server>cli SCCRP', 'cli>server OCRQ', 'server>cli OCRP', 'cli>server Set-Link-Info']);
    const sc = w.server.calls[0];
    assert.equal(sc.peerCallId, c.call.callId);
    assert.equal(c.call.session!.call.peerCallId, sc.callId);
    assert.deepEqual(w.serverCallStatus.map((x) => x.e.status), ['verifying password...', 'connected']);
    assert.equal(w.serverCallStatus[1].e.info!.user, USER);
  });

  test('hang up while dialing: StopCCRQ, close, terminated with the reason', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    w.net.pump(); // SCCRQ/SCCRP/OCRQ/OCRP done, PPP just starting
    c.call.hangup('changed my mind');
    w.net.run(5000);
    assert.equal(c.call.status, 'terminated');
    assert.equal(c.call.reason, 'changed my mind');
    assert.equal(w.server.connectionCount, 0);
    assert.equal(w.net.clock.timerCount, 0);
  });

  test('server unreachable at the PPTP level (no SCCRP): terminated after 60 s with the reason', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.pipe.recvB = () => {}; // the server never sees our bytes
    c.call.start();
    w.net.run(59_990);
    assert.equal(c.call.status, 'dialing');
    w.net.run(20);
    assert.deepEqual(c.statuses.at(-1), { status: 'terminated', reason: 'no Start-Control-Connection-Reply within 60 s' });
    assert.equal(c.tcpClose, 'no Start-Control-Connection-Reply within 60 s');
  });

  test('PPP keepalive failure (GRE path dead, TCP fine): the call is cleared over the control connection', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR, { ppp: { user: USER, password: 'pptp-Pa55word', useEncryption: 'yes', keepaliveTimeout: 10 } });
    c.call.start();
    connected(w, c);
    w.greFilter = () => true;
    w.net.run(30_000);
    assert.equal(c.call.status, 'terminated');
    assert.equal(c.call.reason, 'LCP missed echo reply');
    assert.ok(w.net.trace(['Call-Clear-Request']).includes('cli>server Call-Clear-Request'));
    assert.equal(w.server.calls.length, 0);
  });

  test('IP packets pass both ways, in place (headroom) and copied', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    const sc = w.server.calls[0];
    const p = ipPacket(200, 1);
    const buf = new Uint8Array(PPTP_IP_HEADROOM + p.length);
    buf.set(p, PPTP_IP_HEADROOM);
    assert.ok(c.call.sendIp(buf, PPTP_IP_HEADROOM, p.length));
    assert.ok(sc.sendIpCopy(ipPacket(300, 2)));
    w.net.pump();
    assert.deepEqual(w.serverIp.map((x) => x.ip), [p]);
    assert.deepEqual(c.ip, [ipPacket(300, 2)]);
  });

  test('wrong password: verifying password..., then terminated with the reason; everything closed', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR, { ppp: { user: USER, password: 'wrong', useEncryption: 'yes' } });
    c.call.start();
    w.net.run(30_000);
    assert.deepEqual(c.statuses.map((s) => s.status), ['dialing', 'verifying password...', 'terminating...', 'terminated']);
    assert.equal(c.statuses.at(-1)!.reason, 'authentication failed');
    assert.equal(c.call.control.state, 'closed');
    assert.equal(w.server.calls.length, 0);
    assert.equal(w.server.callIds.size, 0);
    assert.equal(w.net.clock.timerCount, 0);
  });
});

describe('PPTP client <-> server: teardown (seed 002 exchange)', () => {
  test('client hangs up: SLI, TermReq, SLI, TermAck, Call-Clear, CDN, StopCCRQ, StopCCRP, TCP close', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    const from = w.net.log.length;
    const serverCallId = w.server.calls[0].callId;
    c.call.hangup('user request');
    w.net.run(5000);
    const seq = w.net.log.slice(from).filter((x) => TEARDOWN.includes(x.what)).map((x) => `${x.from}>${x.to} ${x.what}`);
    assert.deepEqual(seq, [
      'cli>server Set-Link-Info',
      'cli>server LCP TermReq',
      'server>cli Set-Link-Info',
      'server>cli LCP TermAck',
      'cli>server Call-Clear-Request',
      'server>cli Call-Disconnect-Notify',
      'cli>server StopCCRQ',
      'server>cli StopCCRP',
      'server>cli close',
      'cli>server close',
    ]);
    assert.deepEqual(c.statuses.slice(-2).map((s) => s.status), ['terminating...', 'terminated']);
    assert.equal(c.statuses.at(-1)!.reason, 'user request');
    // ACCMs that keep real peers quiet: pptpd wants 0xFFFFFFFF from a client, pptp-linux 0 from a server
    const slis = w.net.log.slice(from).filter((x) => x.what === 'Set-Link-Info').map((x) => x.msg!);
    assert.deepEqual(slis.map((m) => m.type === T.SetLinkInfo && [m.sendAccm, m.receiveAccm]), [[0xffffffff, 0xffffffff], [0, 0]]);
    assert.equal(slis[0].type === T.SetLinkInfo && slis[0].peerCallId, serverCallId, 'Peer\'s Call ID = the PAC\'s Call ID (§2.15)');
    assert.equal(w.server.calls.length, 0);
    assert.equal(w.server.connectionCount, 0);
    assert.equal(w.net.clock.timerCount, 0);
  });

  test('server hangs up: SLI, TermReq, SLI, TermAck, CDN, StopCCRQ, StopCCRP, TCP close', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    const from = w.net.log.length;
    w.server.calls[0].hangup('admin disconnect');
    w.net.run(5000);
    const seq = w.net.log.slice(from).filter((x) => TEARDOWN.includes(x.what)).map((x) => `${x.from}>${x.to} ${x.what}`);
    assert.deepEqual(seq, [
      'server>cli Set-Link-Info',
      'server>cli LCP TermReq',
      'cli>server Set-Link-Info',
      'cli>server LCP TermAck',
      'server>cli Call-Disconnect-Notify',
      'server>cli StopCCRQ',
      'cli>server StopCCRP',
      'cli>server close',
      'server>cli close',
    ]);
    assert.equal(c.call.status, 'terminated');
    assert.equal(c.statuses.at(-1)!.reason, 'admin disconnect');
    assert.equal(w.net.clock.timerCount, 0);
  });

  test('pptp-linux style: Call-Clear-Request then TCP close (no StopCCRQ): the server cleans up', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    const sc = w.server.calls[0];
    // what pptp-linux does on hang-up: Call-Clear-Request, then close the socket
    c.pipe.write('a', encode(create(T.CallClearRequest, { callId: c.call.callId })));
    c.pipe.close('a');
    w.net.run(100);
    assert.equal(sc.status, 'terminated');
    assert.equal(w.server.calls.length, 0);
    assert.equal(w.server.connectionCount, 0);
    assert.equal(w.server.callIds.isLive(sc.callId), false);
  });

  test('peer that just closes TCP: the call goes down with that reason, on either side', () => {
    for (const side of ['a', 'b'] as const) {
      const w = world();
      const c = w.addClient('cli', CLIENT_ADDR);
      c.call.start();
      connected(w, c);
      const sc = w.server.calls[0];
      c.pipe.close(side); // 'a': the client's socket closes; 'b': the server's
      w.net.run(100);
      if (side === 'b') {
        assert.equal(c.call.status, 'terminated');
        assert.equal(c.call.reason, 'peer closed the control connection');
      } else {
        const last = w.serverCallStatus.filter((x) => x.call === sc).at(-1)!;
        assert.deepEqual(last.e, { status: 'terminated', reason: 'peer closed the control connection' });
        assert.equal(w.server.calls.length, 0);
      }
    }
  });

  test('abort (fatal error below us): StopCCRQ with reason 3, close, terminated with the reason, on either side', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    assert.equal(c.call.info().link?.encoding, 'MPPE128 stateless');
    assert.equal(c.call.info().peerCallId, w.server.calls[0].callId);
    c.call.abort('GRE socket failed');
    w.net.run(100);
    const stop = w.net.log.find((x) => x.what === 'StopCCRQ')!;
    assert.equal(stop.from, 'cli');
    assert.ok(stop.msg!.type === T.StopControlConnectionRequest && stop.msg!.reason === 3);
    assert.deepEqual(c.statuses.at(-1), { status: 'terminated', reason: 'GRE socket failed' });
    assert.equal(w.server.calls.length, 0);
    const w2 = world();
    const c2 = w2.addClient('cli', CLIENT_ADDR);
    c2.call.start();
    connected(w2, c2);
    w2.serverConns[0].abort('GRE socket failed');
    w2.net.run(100);
    assert.equal(c2.call.status, 'terminated');
    assert.match(c2.call.reason!, /peer stopped the control connection \(local shutdown\)/);
    assert.equal(w2.serverCallStatus.at(-1)!.e.reason, 'GRE socket failed');
  });

  test('server closing down hangs up every call', () => {
    const w = world();
    const a = w.addClient('a', CLIENT_ADDR);
    const b = w.addClient('b', CLIENT_ADDR + 1);
    a.call.start();
    b.call.start();
    connected(w, a, b);
    w.server.close('maintenance');
    w.net.run(5000);
    assert.equal(a.call.reason, 'maintenance');
    assert.equal(b.call.reason, 'maintenance');
    assert.equal(w.server.connectionCount, 0);
  });
});

describe('PPTP server: calls and Call IDs', () => {
  test('3 clients behind one address: distinct Call IDs, independent GRE streams', () => {
    const w = world();
    const ends = ['n1', 'n2', 'n3'].map((n) => w.addClient(n, CLIENT_ADDR));
    for (const e of ends) e.call.start();
    connected(w, ...ends);
    const ids = w.server.calls.map((c) => c.callId);
    assert.equal(new Set(ids).size, 3);
    for (const [i, e] of ends.entries()) {
      const sc = w.server.calls.find((c) => c.peerCallId === e.call.callId)!;
      assert.ok(sc.sendIpCopy(ipPacket(100, 10 + i)));
      assert.ok(e.call.sendIpCopy(ipPacket(100, 20 + i)));
    }
    w.net.pump();
    for (const [i, e] of ends.entries()) {
      assert.deepEqual(e.ip, [ipPacket(100, 10 + i)], `${e.name} gets only its own packet`);
      const sc = w.server.calls.find((c) => c.peerCallId === e.call.callId)!;
      assert.deepEqual(w.serverIp.filter((x) => x.call === sc).map((x) => x.ip), [ipPacket(100, 20 + i)]);
      // each call's GRE sequence numbers are its own
      assert.equal(sc.session.gre.stats.rx.lost, 0);
      assert.equal(sc.session.gre.stats.rx.underWin, 0);
    }
    // one hangs up, the others keep running
    ends[1].call.hangup();
    w.net.run(5000);
    assert.equal(w.server.calls.length, 2);
    assert.equal(ends[0].call.status, 'connected');
    assert.equal(ends[2].call.status, 'connected');
  });

  test('20 calls come up and go down (half hung up by clients, half by the server): nothing left behind', () => {
    const w = world({ maxChannels: 1 });
    const ends = Array.from({ length: 20 }, (_, i) => w.addClient(`c${i}`, CLIENT_ADDR + (i % 4)));
    for (const e of ends) e.call.start();
    connected(w, ...ends);
    assert.equal(w.server.calls.length, 20);
    assert.equal(w.server.callIds.size, 20);
    for (const [i, e] of ends.entries()) {
      if (i % 2) e.call.hangup('bye');
      else w.server.calls.find((c) => c.peerCallId === e.call.callId && c.peerAddress === e.address)!.hangup('kick');
    }
    w.net.run(10_000);
    assert.ok(ends.every((e) => e.call.status === 'terminated' && e.call.control.state === 'closed'));
    assert.equal(w.server.calls.length, 0);
    assert.equal(w.server.connectionCount, 0);
    assert.equal(w.server.callIds.size, 0);
    assert.equal(w.net.clock.timerCount, 0);
  });

  test('GRE demux: an unknown Call ID or the right Call ID from another address is dropped and counted', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    const sc = w.server.calls[0];
    const pkt = new Uint8Array([0x30, 0x01, 0x88, 0x0b, 0, 4, sc.callId >> 8, sc.callId & 255, 0, 0, 0, 99, 0xff, 0x03, 0, 0x21]);
    assert.equal(w.server.receiveGre(CLIENT_ADDR + 7, pkt, 0, pkt.length), false);
    assert.equal(w.server.stats.greWrongPeer, 1);
    const other = pkt.slice();
    other[6] ^= 0x55;
    other[7] ^= 0xaa;
    if (!w.server.call((other[6] << 8) | other[7])) {
      assert.equal(w.server.receiveGre(CLIENT_ADDR, other, 0, other.length), false);
      assert.equal(w.server.stats.greNoCall, 1);
    }
    assert.equal(w.server.receiveGre(CLIENT_ADDR, pkt, 0, 5), false);
    assert.equal(w.server.stats.greInvalid, 1);
  });

  test('fuzz: random datagrams into receiveGre never throw and never reach a call', async () => {
    const fc = (await import('fast-check')).default;
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR);
    c.call.start();
    connected(w, c);
    const sc = w.server.calls[0];
    const before = sc.session.gre.stats.rx.accepted;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (b, own) => {
        if (own && b.length >= 8) {
          b[6] = sc.callId >> 8;
          b[7] = sc.callId & 255;
        }
        w.server.receiveGre(CLIENT_ADDR, b, 0, b.length);
      }),
    );
    w.net.run(1000);
    assert.ok(sc.session.gre.stats.rx.accepted - before < 5, 'random bytes are almost never valid GRE');
  });

  test('client: GRE from an address other than the server is dropped and counted', () => {
    const w = world();
    const c = w.addClient('cli', CLIENT_ADDR, { peerAddress: '198.18.0.1' });
    c.call.start();
    connected(w, c);
    const before = c.call.session!.gre.stats.rx.accepted;
    const pkt = new Uint8Array([0x30, 0x01, 0x88, 0x0b, 0, 4, c.call.callId >> 8, c.call.callId & 255, 0, 0, 0x7f, 0, 0xff, 0x03, 0, 0x21]);
    c.call.receiveGre(pkt, 0, pkt.length, 0xc6120063);
    assert.equal(c.call.greWrongPeer, 1);
    assert.equal(c.call.session!.gre.stats.rx.accepted, before);
  });

  test('Call IDs: random, never 0, never a live one, not reused right after release', () => {
    const alloc = new CallIdAllocator();
    const ids = new Set<number>();
    for (let i = 0; i < 2000; i++) ids.add(alloc.allocate());
    assert.equal(ids.size, 2000);
    assert.ok(!ids.has(0));
    // spread over the whole space, not sequential
    const sorted = [...ids].sort((a, b) => a - b);
    assert.ok(sorted[0] < 2000 && sorted[sorted.length - 1] > 63_000);
    let sequentialPairs = 0;
    const inOrder = [...ids];
    for (let i = 1; i < inOrder.length; i++) if (inOrder[i] === inOrder[i - 1] + 1) sequentialPairs++;
    assert.ok(sequentialPairs < 10);
    // release then allocate: the released one stays out
    const r = new CallIdAllocator({ random16: prng(5) as () => number });
    const a = r.allocate();
    r.release(a);
    for (let i = 0; i < 500; i++) assert.notEqual(r.allocate(), a);
  });

  test('Call IDs: a crowded space still yields free IDs; a full one fails with PPTP_ERR_NO_CALL_ID', () => {
    let k = 0;
    const alloc = new CallIdAllocator({ random16: () => 7 + (k++ % 3), quarantine: 0 });
    const got = new Set<number>();
    for (let i = 0; i < 0xffff; i++) got.add(alloc.allocate());
    assert.equal(got.size, 0xffff);
    assert.throws(() => alloc.allocate(), (e: unknown) => (e as { code: string }).code === 'PPTP_ERR_NO_CALL_ID');
  });

  test('maxCalls and a refusing PPP config: OCRP general error, the client terminates with the reason', () => {
    const w = world({ maxCalls: 1 });
    const a = w.addClient('a', CLIENT_ADDR);
    const b = w.addClient('b', CLIENT_ADDR + 1);
    a.call.start();
    connected(w, a);
    b.call.start();
    w.net.run(3000);
    assert.equal(b.call.status, 'terminated');
    assert.match(b.call.reason!, /call refused: general error \(insufficient resources\)/);
    assert.equal(w.server.stats.callsRefused, 1);
    assert.equal(a.call.status, 'connected');
  });

  test('a raw peer talking wrong: SCCRQ twice gets result 3; garbage ends the connection with StopCCRQ', () => {
    const w = world();
    const conn = w.server.accept({ peerAddress: '198.18.0.50', onWrite: (b) => w.net.note('server', 'raw', String(b[9])), onClose: () => w.net.note('server', 'raw', 'close') });
    conn.receive(encode(sccrq()));
    conn.receive(encode(sccrq()));
    conn.receive(new Uint8Array(16).fill(0x41));
    assert.deepEqual(w.net.log.map((x) => x.what), [String(T.StartControlConnectionReply), String(T.StartControlConnectionReply), String(T.StopControlConnectionRequest), 'close']);
    assert.equal(w.server.connectionCount, 0);
  });
});

describe('PPTP end to end over a lossy network', () => {
  for (const enforceWindow of [false, true]) {
    test(`MS-CHAPv2 + MPPE-128 with 10% GRE loss and reordering: IP passes both ways in order (window ${enforceWindow ? 'enforced' : 'not enforced'})`, () => {
      const w = world({ reorderTimeoutMs: 300, enforceWindow, window: 16 });
      const rnd = prng(2024);
      // 10% loss; 20% of the rest delayed 1..30 ms (reordered behind later packets)
      w.greFilter = () => {
        const x = rnd() / 2 ** 32;
        if (x < 0.1) return true;
        if (x < 0.3) return 1 + (rnd() % 30);
        return false;
      };
      const c = w.addClient('cli', CLIENT_ADDR, { enforceWindow, window: 16 });
      c.call.start();
      connected(w, c);
      const sc = w.server.calls[0];
      assert.equal(c.statuses.find((s) => s.status === 'connected')!.info!.encoding, 'MPPE128 stateless');
      const N = 400;
      for (let i = 0; i < N; i++) {
        c.call.sendIpCopy(numbered(i, 120 + (i % 50)));
        sc.sendIpCopy(numbered(i, 140 + (i % 40)));
        w.net.run(2, 1);
      }
      w.net.run(2000);
      for (const [got, len] of [[w.serverIp.map((x) => x.ip), 120], [c.ip, 140]] as const) {
        // 10% loss each way (and packets dropped by a full transmit window): most arrive,
        // each intact, none twice, all in the order sent.
        assert.ok(got.length > N * 0.7, `got ${got.length}/${N}`);
        let prev = -1;
        for (const p of got) {
          const i = (p[4] << 8) | p[5];
          assert.ok(i > prev, `in order: ${i} after ${prev}`);
          assert.deepEqual(p, numbered(i, len + (i % (len === 120 ? 50 : 40))));
          prev = i;
        }
      }
      const cg = c.call.session!.gre.stats;
      const sg = sc.session.gre.stats;
      assert.ok(cg.rx.buffered > 0 && sg.rx.buffered > 0, 'reordering was exercised');
      assert.ok(cg.rx.lost > 0 && sg.rx.lost > 0, 'loss was exercised');
      assert.equal(c.call.session!.link.stats.drops.decryptFailed, 0, 'MPPE never sees a reordered packet');
      assert.equal(sc.session.link.stats.drops.decryptFailed, 0);
      assert.equal(c.call.status, 'connected');
    });
  }
});
