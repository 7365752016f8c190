import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClock } from '../../../src/protocol/clock.js';
import { create, decode, encode, PptpControlType as T, sccrp, sccrq, type PptpControlMessage } from '../../../src/codec/pptp/index.js';
import { PptpCollisionRegistry, PptpControlConnection, type ControlCall, type PptpControlOptions } from '../../../src/protocol/pptp/control.js';
import { controlPair, Net, TcpPipe } from './harness.js';

/** One control connection talking to the test directly. */
function solo(role: 'client' | 'server', o: Partial<PptpControlOptions> = {}) {
  const clock = new FakeClock();
  const out: PptpControlMessage[] = [];
  const r = {
    clock,
    out,
    closed: undefined as string | undefined,
    callsDown: [] as { call: ControlCall; reason: string }[],
    conn: undefined as unknown as PptpControlConnection,
    feed(m: PptpControlMessage | Uint8Array) {
      r.conn.receive(m instanceof Uint8Array ? m : encode(m));
    },
    names: () => out.map((m) => m.type),
    last: () => out[out.length - 1],
  };
  r.conn = new PptpControlConnection({
    role,
    clock,
    onWrite: (b) => out.push(decode(b)),
    onClose: (reason) => {
      assert.equal(r.closed, undefined, 'onClose fires once');
      r.closed = reason;
    },
    onCallDown: (call, reason) => r.callsDown.push({ call, reason }),
    ...o,
  });
  r.conn.start();
  return r;
}

function established(role: 'client' | 'server', o: Partial<PptpControlOptions> = {}) {
  const r = solo(role, o);
  r.feed(role === 'client' ? sccrp() : sccrq());
  assert.equal(r.conn.state, 'established');
  r.out.length = 0;
  return r;
}

const accept = (callId: number, window = 32) => () => ({ accept: true as const, callId, window });

describe('PPTP control connection: setup', () => {
  test('SCCRQ/SCCRP then OCRQ/OCRP: both sides established, call IDs and windows exchanged', () => {
    const ups: Record<string, ControlCall> = {};
    const p = controlPair(
      { hostName: 'cli', onCallUp: (c) => (ups.c = c) },
      { hostName: 'srv', onOutgoingCall: accept(0x2222, 32), onCallUp: (c) => (ups.s = c) },
    );
    p.server.start();
    p.client.start();
    const call = p.client.placeCall({ callId: 0x1111, window: 16, phoneNumber: '555' });
    p.net.pump();
    assert.deepEqual(p.net.trace(['SCCRQ', 'SCCRP', 'OCRQ', 'OCRP']), ['c>s SCCRQ', 's>c SCCRP', 'c>s OCRQ', 's>c OCRP']);
    const [rq, rp, ocrq, ocrp] = p.net.log.map((w) => w.msg!);
    assert.equal(rq.type === T.StartControlConnectionRequest && rq.protocolVersion, 0x0100);
    assert.equal(rq.type === T.StartControlConnectionRequest && rq.hostName, 'cli');
    assert.equal(rp.type === T.StartControlConnectionReply && rp.resultCode, 1);
    assert.equal(ocrq.type === T.OutgoingCallRequest && ocrq.callId, 0x1111);
    assert.equal(ocrq.type === T.OutgoingCallRequest && ocrq.phoneNumber, '555');
    assert.equal(ocrp.type === T.OutgoingCallReply && ocrp.peerCallId, 0x1111);
    assert.equal(ocrp.type === T.OutgoingCallReply && ocrp.resultCode, 1);
    assert.equal(p.client.state, 'established');
    assert.equal(p.server.state, 'established');
    assert.equal(p.client.peerInfo?.hostName, 'srv');
    assert.equal(p.server.peerInfo?.hostName, 'cli');
    assert.equal(ups.c, call);
    assert.equal(call.state, 'established');
    assert.equal(call.peerCallId, 0x2222);
    assert.equal(call.peerWindow, 32);
    assert.equal(ups.s.localCallId, 0x2222);
    assert.equal(ups.s.peerCallId, 0x1111);
    assert.equal(ups.s.peerWindow, 16);
  });

  test('every split of the byte stream gives the same result', () => {
    const msgs = [sccrq({ hostName: 'x' }), create(T.EchoRequest, { identifier: 7 }), create(T.OutgoingCallRequest, { callId: 9, receiveWindowSize: 4 })];
    const stream = Buffer.concat(msgs.map((m) => encode(m)));
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = solo('server', { onOutgoingCall: accept(5) });
      r.feed(stream.subarray(0, cut));
      r.feed(stream.subarray(cut));
      assert.deepEqual(r.names(), [T.StartControlConnectionReply, T.EchoReply, T.OutgoingCallReply], `cut ${cut}`);
    }
    const r = solo('server', { onOutgoingCall: accept(5) });
    for (const b of stream) r.feed(Uint8Array.of(b));
    assert.deepEqual(r.names(), [T.StartControlConnectionReply, T.EchoReply, T.OutgoingCallReply]);
  });

  test('a call placed before the connection is up goes out after the SCCRP', () => {
    const r = solo('client');
    r.conn.placeCall({ callId: 3 });
    assert.deepEqual(r.names(), [T.StartControlConnectionRequest]);
    r.feed(sccrp());
    assert.deepEqual(r.names(), [T.StartControlConnectionRequest, T.OutgoingCallRequest]);
  });

  test('refused call: OCRP result is reported as the reason', () => {
    const r = established('client');
    const call = r.conn.placeCall({ callId: 3 });
    r.feed(create(T.OutgoingCallReply, { callId: 0, peerCallId: 3, resultCode: 4 }));
    assert.equal(call.state, 'closed');
    assert.match(r.callsDown[0].reason, /busy/);
  });

  test('server refuses calls by default and beyond maxChannels', () => {
    const r = established('server');
    r.feed(create(T.OutgoingCallRequest, { callId: 1 }));
    const refused = r.last();
    assert.equal(refused.type === T.OutgoingCallReply && refused.resultCode, 7);
    const r2 = established('server', { onOutgoingCall: accept(10) });
    r2.feed(create(T.OutgoingCallRequest, { callId: 1 }));
    r2.feed(create(T.OutgoingCallRequest, { callId: 2 }));
    const m = r2.last();
    assert.ok(m.type === T.OutgoingCallReply);
    assert.deepEqual([m.resultCode, m.errorCode, m.peerCallId], [2, 4, 2]);
  });

  test('Set-Link-Info carries the ACCMs both ways', () => {
    let got: ControlCall | undefined;
    const p = controlPair({}, { onOutgoingCall: accept(0x2222), onSetLinkInfo: (c) => (got = c) });
    p.server.start();
    p.client.start();
    const call = p.client.placeCall({ callId: 0x1111 });
    p.net.pump();
    p.client.setLinkInfo(call, 0x000a0000, 0xffffffff);
    p.net.pump();
    const sli = p.net.log.at(-1)!.msg!;
    assert.ok(sli.type === T.SetLinkInfo);
    assert.equal(sli.peerCallId, 0x2222);
    assert.equal(got?.localCallId, 0x2222);
    assert.equal(got?.peerSendAccm, 0x000a0000);
    assert.equal(got?.peerReceiveAccm, 0xffffffff);
  });
});

describe('PPTP control connection: teardown', () => {
  function upPair() {
    let serverCall: ControlCall | undefined;
    const p = controlPair({}, { onOutgoingCall: accept(0x2222), onCallUp: (x) => (serverCall = x) });
    p.server.start();
    p.client.start();
    const call = p.client.placeCall({ callId: 0x1111 });
    p.net.pump();
    return { ...p, call, serverCall: serverCall! };
  }
  const NAMES = ['Call-Clear-Request', 'Call-Disconnect-Notify', 'StopCCRQ', 'StopCCRP', 'close'];

  test('client clears: Call-Clear-Request, CDN, StopCCRQ, StopCCRP, both close TCP', () => {
    const p = upPair();
    p.client.clearCall(p.call, 'user hung up');
    p.net.pump();
    assert.deepEqual(p.net.trace(NAMES), [
      'c>s Call-Clear-Request',
      's>c Call-Disconnect-Notify',
      'c>s StopCCRQ',
      's>c StopCCRP',
      's>c close',
      'c>s close',
    ]);
    const cdn = p.net.log.find((w) => w.what === 'Call-Disconnect-Notify')!.msg!;
    assert.ok(cdn.type === T.CallDisconnectNotify);
    assert.equal(cdn.callId, 0x2222);
    assert.equal(cdn.resultCode, 4, 'Result 4: Call-Clear-Request received');
    assert.equal(p.call.reason, 'user hung up');
    assert.equal(p.client.state, 'closed');
    assert.equal(p.server.state, 'closed');
    assert.equal(p.net.clock.timerCount, 0);
  });

  test('server clears: CDN, StopCCRQ, StopCCRP, close', () => {
    const p = upPair();
    p.server.clearCall(p.serverCall, 'admin');
    p.net.pump();
    assert.deepEqual(p.net.trace(NAMES), ['s>c Call-Disconnect-Notify', 's>c StopCCRQ', 'c>s StopCCRP', 'c>s close', 's>c close']);
    assert.match(p.call.reason!, /administrative shutdown/);
    assert.match(p.closes.c, /peer stopped the control connection \(general request\)/);
  });

  test('pptp-linux style: Call-Clear-Request then TCP close', () => {
    const r = established('server', { onOutgoingCall: accept(0x2222) });
    r.feed(create(T.OutgoingCallRequest, { callId: 0x1111 }));
    r.feed(create(T.CallClearRequest, { callId: 0x1111 }));
    assert.equal(r.last().type, T.CallDisconnectNotify);
    assert.equal(r.callsDown.length, 1);
    r.conn.tcpClosed();
    assert.equal(r.closed, 'peer closed the control connection');
    assert.equal(r.clock.timerCount, 0);
  });

  test('Call-Clear-Request only: after the linger time the server stops the connection itself', () => {
    const r = established('server', { onOutgoingCall: accept(0x2222), lingerMs: 2000 });
    r.feed(create(T.OutgoingCallRequest, { callId: 0x1111 }));
    r.feed(create(T.CallClearRequest, { callId: 0x1111 }));
    r.clock.advance(1999);
    assert.equal(r.last().type, T.CallDisconnectNotify);
    r.clock.advance(1);
    const stop = r.last();
    assert.ok(stop.type === T.StopControlConnectionRequest);
    assert.equal(stop.reason, 1);
    assert.equal(r.conn.state, 'wait-stop-reply');
    r.clock.advance(60_000);
    assert.equal(r.closed, 'no calls left');
  });

  test('peer StopCCRQ in any state is answered and TCP closed', () => {
    const r = established('client');
    r.conn.placeCall({ callId: 1 });
    r.feed(create(T.StopControlConnectionRequest, { reason: 3 }));
    const rep = r.last();
    assert.ok(rep.type === T.StopControlConnectionReply);
    assert.equal(rep.resultCode, 1);
    assert.match(r.closed!, /local shutdown/);
    assert.equal(r.callsDown.length, 1);
  });

  test('no Stop-Control-Connection-Reply: closed after the reply timeout', () => {
    const r = established('client', { replyTimeoutMs: 5000 });
    r.conn.stop('bye');
    assert.equal(r.last().type, T.StopControlConnectionRequest);
    r.clock.advance(4999);
    assert.equal(r.closed, undefined);
    r.clock.advance(1);
    assert.equal(r.closed, 'bye');
  });
});

describe('PPTP control connection: keepalive (RFC 2637 §3.1.4)', () => {
  test('Echo-Request after 60 s idle; the reply keeps the connection; echoes are answered', () => {
    const p = controlPair();
    p.server.start();
    p.client.start();
    p.net.pump();
    p.net.run(59_990);
    assert.deepEqual(p.net.trace(['Echo-Request']), []);
    p.net.run(20);
    assert.deepEqual(p.net.trace(['Echo-Request', 'Echo-Reply']).sort(), ['c>s Echo-Reply', 'c>s Echo-Request', 's>c Echo-Reply', 's>c Echo-Request']);
    assert.equal(p.net.log.find((w) => w.what === 'Echo-Request')!.t, 60_000);
    p.net.run(200_000);
    assert.equal(p.client.state, 'established');
    assert.equal(p.server.state, 'established');
    assert.equal(p.client.stats.strayEchoReplies, 0);
  });

  test('no Echo-Reply: StopCCRQ and close 60 s after the request (RFC timing)', () => {
    const r = established('client');
    r.clock.advance(59_999);
    assert.equal(r.out.length, 0);
    r.clock.advance(1);
    const echo = r.last();
    assert.ok(echo.type === T.EchoRequest);
    r.clock.advance(59_999);
    assert.equal(r.closed, undefined);
    r.clock.advance(1);
    assert.equal(r.last().type, T.StopControlConnectionRequest);
    assert.equal(r.closed, 'no Echo-Reply within 60 s');
    assert.equal(r.clock.timerCount, 0);
  });

  test('custom --idle-wait 10 s and --max-echo-wait 5 s; traffic postpones the echo', () => {
    const r = established('server', { idleWaitMs: 10_000, maxEchoWaitMs: 5000 });
    r.clock.advance(8000);
    r.feed(create(T.EchoRequest, { identifier: 1 })); // peer traffic at t=8 s
    r.out.length = 0;
    r.clock.advance(9999);
    assert.equal(r.out.length, 0);
    r.clock.advance(1);
    const echo = r.last();
    assert.ok(echo.type === T.EchoRequest);
    // a reply with the wrong identifier does not count
    r.feed(create(T.EchoReply, { identifier: (echo.identifier + 1) >>> 0, resultCode: 1 }));
    assert.equal(r.conn.stats.strayEchoReplies, 1);
    r.clock.advance(5000);
    assert.equal(r.closed, 'no Echo-Reply within 5 s');
  });

  test('a matching Echo-Reply resets the timers', () => {
    const r = established('client', { idleWaitMs: 10_000, maxEchoWaitMs: 5000 });
    r.clock.advance(10_000);
    const echo = r.last();
    assert.ok(echo.type === T.EchoRequest);
    r.clock.advance(4000);
    r.feed(create(T.EchoReply, { identifier: echo.identifier, resultCode: 1 }));
    r.clock.advance(9999);
    assert.equal(r.closed, undefined);
    assert.equal(r.out.length, 1);
    r.clock.advance(1);
    assert.equal(r.out.length, 2);
  });
});

describe('PPTP control connection: version, result and timer errors', () => {
  test('server: SCCRQ with an older version gets SCCRP result 5 and TCP close', () => {
    const r = solo('server');
    r.feed(sccrq({ protocolVersion: 0x0001 }));
    const m = r.last();
    assert.ok(m.type === T.StartControlConnectionReply);
    assert.equal(m.resultCode, 5);
    assert.match(r.closed!, /version 0\.1 is not supported/);
  });

  test('server: a newer version is answered with ours (1.0)', () => {
    const r = solo('server');
    r.feed(sccrq({ protocolVersion: 0x0200 }));
    const m = r.last();
    assert.ok(m.type === T.StartControlConnectionReply);
    assert.equal(m.resultCode, 1);
    assert.equal(m.protocolVersion, 0x0100);
  });

  test('client: SCCRP with another version: StopCCRQ reason 2, then close on the reply', () => {
    const r = solo('client');
    r.feed(sccrp({ protocolVersion: 0x0200 }));
    const m = r.last();
    assert.ok(m.type === T.StopControlConnectionRequest);
    assert.equal(m.reason, 2);
    r.feed(create(T.StopControlConnectionReply, { resultCode: 1 }));
    assert.match(r.closed!, /version 2\.0 is not supported/);
  });

  test('client: SCCRP with a failure result closes with the meaning of the code', () => {
    const r = solo('client');
    r.feed(sccrp({ resultCode: 4 }));
    assert.match(r.closed!, /not authorized/);
    const r2 = solo('client');
    r2.feed(sccrp({ resultCode: 2, errorCode: 4 }));
    assert.match(r2.closed!, /general error \(insufficient resources\)/);
  });

  test('no SCCRP / SCCRQ / OCRP within 60 s', () => {
    const c = solo('client');
    c.clock.advance(60_000);
    assert.equal(c.closed, 'no Start-Control-Connection-Reply within 60 s');
    const s = solo('server');
    s.clock.advance(60_000);
    assert.equal(s.closed, 'no Start-Control-Connection-Request within 60 s');
    const o = established('client', { replyTimeoutMs: 30_000, idleWaitMs: 100_000 });
    o.conn.placeCall({ callId: 4 });
    o.clock.advance(30_000);
    assert.equal(o.callsDown[0].reason, 'no Outgoing-Call-Reply within 30 s');
  });
});

describe('PPTP control connection: unexpected and malformed input', () => {
  test('unexpected messages are answered as RFC 2637 says or dropped and counted', () => {
    // OCRQ before the connection exists: §2.16 error 1
    const s = solo('server', { onOutgoingCall: accept(5) });
    s.feed(create(T.OutgoingCallRequest, { callId: 1 }));
    const m = s.last();
    assert.ok(m.type === T.OutgoingCallReply);
    assert.deepEqual([m.resultCode, m.errorCode], [2, 1]);
    // a second SCCRQ: result 3, channel already exists
    s.feed(sccrq());
    s.feed(sccrq());
    const m2 = s.last();
    assert.ok(m2.type === T.StartControlConnectionReply);
    assert.equal(m2.resultCode, 3);
    // the client does not take incoming calls
    const c = established('client');
    c.feed(create(T.IncomingCallRequest, { callId: 77 }));
    const m3 = c.last();
    assert.ok(m3.type === T.IncomingCallReply);
    assert.deepEqual([m3.resultCode, m3.peerCallId], [3, 77]);
    // replies nobody asked for
    c.feed(create(T.OutgoingCallReply, { peerCallId: 999, resultCode: 1 }));
    c.feed(create(T.StopControlConnectionReply, { resultCode: 1 }));
    c.feed(create(T.CallDisconnectNotify, { callId: 5 }));
    c.feed(create(T.EchoReply, { identifier: 1, resultCode: 1 }));
    c.feed(create(T.WanErrorNotify, { peerCallId: 1, crcErrors: 3 }));
    assert.equal(c.conn.stats.unexpected, 3);
    assert.equal(c.conn.stats.strayEchoReplies, 1);
    assert.equal(c.conn.stats.wanErrors, 1);
    assert.equal(c.conn.state, 'established');
  });

  test('unknown Control Message Type is skipped (the Length keeps sync)', () => {
    const r = established('server');
    const odd = encode(create(T.EchoRequest, { identifier: 1 }));
    odd[9] = 99;
    r.feed(odd);
    r.feed(create(T.EchoRequest, { identifier: 2 }));
    assert.equal(r.conn.stats.unknown, 1);
    const m = r.last();
    assert.ok(m.type === T.EchoReply);
    assert.equal(m.identifier, 2);
  });

  const broken: [string, (b: Uint8Array) => void, RegExp][] = [
    ['bad magic cookie', (b) => (b[4] = 0), /PPTP_ERR_BAD_MAGIC/],
    ['oversized Length', (b) => ((b[0] = 0x10), (b[1] = 0)), /PPTP_ERR_MESSAGE_TOO_LONG/],
    ['Length below 16', (b) => ((b[0] = 0), (b[1] = 12)), /PPTP_ERR_BAD_LENGTH/],
    ['management message type', (b) => (b[3] = 2), /PPTP_ERR_BAD_MESSAGE_TYPE/],
  ];
  for (const [name, damage, code] of broken) {
    test(`malformed stream (${name}): StopCCRQ with a reason, then close`, () => {
      const r = established('client');
      const b = encode(create(T.EchoRequest, { identifier: 1 }));
      damage(b);
      r.feed(b);
      const m = r.last();
      assert.ok(m.type === T.StopControlConnectionRequest);
      assert.equal(m.reason, 1);
      assert.match(r.closed!, code);
      assert.equal(r.clock.timerCount, 0);
      r.feed(create(T.EchoRequest, { identifier: 2 }));
      assert.equal(r.last().type, T.StopControlConnectionRequest, 'nothing more after the close');
    });
  }

  test('truncated message (Length shorter than its type): StopCCRQ and close', () => {
    const r = established('server');
    const b = encode(create(T.OutgoingCallRequest, { callId: 1 })).slice(0, 16);
    b[0] = 0;
    b[1] = 16;
    r.feed(b);
    assert.equal(r.last().type, T.StopControlConnectionRequest);
    assert.match(r.closed!, /PPTP_ERR_BAD_LENGTH/);
  });

  test('TCP closed in the middle of a message', () => {
    const r = established('server');
    r.feed(encode(create(T.EchoRequest, { identifier: 1 })).subarray(0, 10));
    r.conn.tcpClosed();
    assert.match(r.closed!, /middle of a message/);
  });

  test('fuzz: arbitrary bytes never throw; a broken stream always ends in StopCCRQ + close', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (isClient, chunks) => {
        const r = isClient ? established('client') : solo('server', { onOutgoingCall: accept(5) });
        for (const c of chunks) r.feed(c);
        r.clock.advance(200_000);
        if (r.closed && /malformed/.test(r.closed)) assert.equal(r.last().type, T.StopControlConnectionRequest);
        assert.equal(r.clock.timerCount === 0, r.conn.state === 'closed');
      }),
    );
  });
});

describe('PPTP control connection: structured fuzz', () => {
  test('random valid messages (any type, small Call IDs), garbage and time steps: never throws, closes once, no timer left behind', () => {
    const msg = fc.oneof(
      fc.constant(encode(sccrq())),
      fc.constant(encode(sccrp())),
      fc.tuple(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([t, id, v]) => {
        const m = create(t as PptpControlMessage['type'], {}) as unknown as Record<string, number | string>;
        for (const k of Object.keys(m)) if (typeof m[k] === 'number' && k !== 'type') m[k] = k === 'protocolVersion' ? 0x100 : /allId$/.test(k) ? id : v;
        return encode(m as unknown as PptpControlMessage);
      }),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(msg, fc.integer({ min: 0, max: 70_000 })), { maxLength: 25 }), (isClient, steps) => {
        const clock = new FakeClock();
        let closed = 0;
        const c = new PptpControlConnection({
          role: isClient ? 'client' : 'server',
          clock,
          lingerMs: 100,
          onWrite: (b) => void decode(b),
          onClose: () => void closed++,
          onOutgoingCall: () => ({ accept: true, callId: 3 }),
        });
        c.start();
        if (isClient) c.placeCall({ callId: 1 });
        for (const [b, wait] of steps) {
          c.receive(b);
          clock.advance(wait);
        }
        clock.advance(300_000);
        assert.ok(closed <= 1);
        assert.equal(clock.timerCount === 0, c.state === 'closed');
      }),
    );
  });
});

describe('PPTP control connection: SCCRQ collision (RFC 2637 §3.1.3)', () => {
  test('both sides send SCCRQ: the higher address wins, the loser closes its own connection and answers', () => {
    const net = new Net();
    const A = '198.18.0.1';
    const B = '198.18.0.2';
    const regA = new PptpCollisionRegistry(A);
    const regB = new PptpCollisionRegistry(B);
    // conn1: A -> B, conn2: B -> A
    const p1 = new TcpPipe(net, 'A1', 'B1');
    const p2 = new TcpPipe(net, 'B2', 'A2');
    const closes: Record<string, string> = {};
    const mk = (role: 'client' | 'server', name: string, pipe: TcpPipe, side: 'a' | 'b', reg: PptpCollisionRegistry, peer: string) =>
      new PptpControlConnection({
        role,
        clock: net.clock,
        collisions: reg,
        peerAddress: peer,
        onWrite: (b) => pipe.write(side, b),
        onClose: (r) => {
          closes[name] = r;
          pipe.close(side);
        },
      });
    const a1 = mk('client', 'A1', p1, 'a', regA, B);
    const b1 = mk('server', 'B1', p1, 'b', regB, A);
    const b2 = mk('client', 'B2', p2, 'a', regB, A);
    const a2 = mk('server', 'A2', p2, 'b', regA, B);
    p1.recvA = (x) => a1.receive(x);
    p1.recvB = (x) => b1.receive(x);
    p1.closedA = () => a1.tcpClosed();
    p1.closedB = () => b1.tcpClosed();
    p2.recvA = (x) => b2.receive(x);
    p2.recvB = (x) => a2.receive(x);
    p2.closedA = () => b2.tcpClosed();
    p2.closedB = () => a2.tcpClosed();
    b1.start();
    a2.start();
    a1.start();
    b2.start();
    net.pump();
    // B (higher) wins: its connection (conn2) carries the exchange; A closed conn1 silently.
    assert.deepEqual(net.log.map((w) => `${w.from}>${w.to} ${w.what}`), [
      'A1>B1 SCCRQ',
      'B2>A2 SCCRQ',
      'A1>B1 close',
      'A2>B2 SCCRP',
    ]);
    assert.equal(b2.state, 'established');
    assert.equal(a2.state, 'established');
    assert.equal(a1.state, 'closed');
    assert.equal(b1.state, 'closed');
    assert.match(closes.A1, /collision lost/);
    assert.match(closes.B1, /collision won/);
  });

  test('no collision when nothing of ours is pending to that peer', () => {
    const reg = new PptpCollisionRegistry('198.18.0.9');
    assert.equal(reg.resolve(0xc6120001), 'proceed');
  });
});
