/**
 * RFC 1661 §4.1 state table, row by row, against a scripted option handler.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/protocol/clock.js';
import { Fsm, State, STATE_NAMES, type FsmHandler, type RequestJudgement } from '../../../src/protocol/ppp/fsm.js';
import * as packet from '../../../src/codec/ppp/packet.js';
import { Code } from '../../../src/codec/ppp/protocols.js';

const REQ = Uint8Array.of(1, 4, 5, 0xdc); // our "options": MRU 1500

interface Sent {
  code: number;
  id: number;
  data: Uint8Array;
}

function harness(opts: { maxFailure?: number } = {}) {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const events: string[] = [];
  let verdict: RequestJudgement | undefined = { code: Code.CONF_ACK, data: new Uint8Array(0) };
  const h: FsmHandler = {
    send: (code, id, data) => sent.push({ code, id, data: data.slice() }),
    buildRequest: () => REQ,
    judgeRequest: (data, naksAsRejects) => {
      if (!verdict) return undefined;
      if (verdict.code === Code.CONF_ACK) return { code: Code.CONF_ACK, data };
      if (verdict.code === Code.CONF_NAK && naksAsRejects) return { code: Code.CONF_REJ, data };
      return verdict;
    },
    ackReceived: (d) => Buffer.from(d).equals(Buffer.from(REQ)),
    nakReceived: () => true,
    rejectReceived: () => true,
    thisLayerUp: () => events.push('tlu'),
    thisLayerDown: () => events.push('tld'),
    thisLayerStarted: () => events.push('tls'),
    thisLayerFinished: () => events.push('tlf'),
    extraCode: (code) => code === Code.ECHO_REQ,
  };
  const fsm = new Fsm({ name: 'test', clock, maxFailure: opts.maxFailure }, h);
  const rx = (code: number, id: number, data: Uint8Array = new Uint8Array(0)) => fsm.receive(packet.encode({ code, id, data }));
  const lastReqId = () => [...sent].reverse().find((s) => s.code === Code.CONF_REQ)!.id;
  const codes = () => sent.map((s) => s.code);
  return {
    clock, sent, events, fsm, rx, lastReqId, codes,
    setVerdict(v: 'ack' | 'nak' | 'rej' | 'drop') {
      verdict =
        v === 'ack' ? { code: Code.CONF_ACK, data: new Uint8Array(0) }
        : v === 'nak' ? { code: Code.CONF_NAK, data: Uint8Array.of(1, 4, 5, 0x00) }
        : v === 'rej' ? { code: Code.CONF_REJ, data: Uint8Array.of(9, 2) }
        : undefined;
    },
    reset() {
      sent.length = 0;
      events.length = 0;
    },
  };
}

function st(f: Fsm): string {
  return STATE_NAMES[f.state];
}

/** Bring a harness to a given state through legal events. */
function to(state: State, opts?: { maxFailure?: number }) {
  const t = harness(opts);
  const { fsm, rx } = t;
  switch (state) {
    case State.Initial: break;
    case State.Starting: fsm.open(); break;
    case State.Closed: fsm.up(); break;
    case State.ReqSent: fsm.open(); fsm.up(); break;
    case State.AckRcvd: fsm.open(); fsm.up(); rx(Code.CONF_ACK, t.lastReqId(), REQ); break;
    case State.AckSent: fsm.open(); fsm.up(); rx(Code.CONF_REQ, 7, Uint8Array.of(5, 6, 1, 2, 3, 4)); break;
    case State.Opened: fsm.open(); fsm.up(); rx(Code.CONF_REQ, 7, Uint8Array.of(5, 6, 1, 2, 3, 4)); rx(Code.CONF_ACK, t.lastReqId(), REQ); break;
    case State.Closing: fsm.open(); fsm.up(); fsm.close('bye'); break;
    case State.Stopping: fsm.open(); fsm.up(); rx(Code.CONF_REQ, 7, Uint8Array.of(5, 6, 1, 2, 3, 4)); rx(Code.CONF_ACK, t.lastReqId(), REQ); rx(Code.TERM_REQ, 9); break;
    case State.Stopped: fsm.open(); fsm.up(); t.clock.advance(60_000); break;
  }
  assert.equal(fsm.state, state, `setup reached ${st(fsm)} instead of ${STATE_NAMES[state]}`);
  t.reset();
  return t;
}

describe('RFC 1661 automaton: Initial (0) and Starting (1)', () => {
  test('Initial: Up -> Closed', () => {
    const t = to(State.Initial);
    t.fsm.up();
    assert.equal(st(t.fsm), 'Closed');
  });
  test('Initial: Open -> tls, Starting', () => {
    const t = to(State.Initial);
    t.fsm.open();
    assert.equal(st(t.fsm), 'Starting');
    assert.deepEqual(t.events, ['tls']);
  });
  test('Initial/Starting: received packets are discarded', () => {
    const t = to(State.Starting);
    t.rx(Code.CONF_REQ, 1, REQ);
    assert.equal(st(t.fsm), 'Starting');
    assert.equal(t.sent.length, 0);
  });
  test('Starting: Up -> irc,scr, Req-Sent', () => {
    const t = to(State.Starting);
    t.fsm.up();
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
  });
  test('Starting: Close -> tlf, Initial', () => {
    const t = to(State.Starting);
    t.fsm.close();
    assert.equal(st(t.fsm), 'Initial');
    assert.deepEqual(t.events, ['tlf']);
  });
});

describe('RFC 1661 automaton: Closed (2)', () => {
  test('Open -> irc,scr, Req-Sent', () => {
    const t = to(State.Closed);
    t.fsm.open();
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
  });
  test('RCR -> sta, stays Closed', () => {
    const t = to(State.Closed);
    t.rx(Code.CONF_REQ, 3, REQ);
    assert.equal(st(t.fsm), 'Closed');
    assert.deepEqual(t.sent.map((s) => [s.code, s.id]), [[Code.TERM_ACK, 3]]);
  });
  test('RTR -> sta; Down -> Initial', () => {
    const t = to(State.Closed);
    t.rx(Code.TERM_REQ, 4);
    assert.deepEqual(t.codes(), [Code.TERM_ACK]);
    t.fsm.down();
    assert.equal(st(t.fsm), 'Initial');
  });
  test('RUC -> scj', () => {
    const t = to(State.Closed);
    t.rx(0x55, 4, Uint8Array.of(1, 2));
    assert.deepEqual(t.codes(), [Code.CODE_REJ]);
    assert.deepEqual(t.sent[0].data, Uint8Array.of(0x55, 4, 0, 6, 1, 2));
  });
});

describe('RFC 1661 automaton: Req-Sent (6)', () => {
  test('RCR+ -> sca, Ack-Sent', () => {
    const t = to(State.ReqSent);
    t.rx(Code.CONF_REQ, 11, Uint8Array.of(5, 6, 1, 2, 3, 4));
    assert.equal(st(t.fsm), 'Ack-Sent');
    assert.deepEqual(t.sent.map((s) => [s.code, s.id]), [[Code.CONF_ACK, 11]]);
    assert.deepEqual(t.sent[0].data, Uint8Array.of(5, 6, 1, 2, 3, 4));
  });
  test('RCR- -> scn, stays Req-Sent', () => {
    const t = to(State.ReqSent);
    t.setVerdict('nak');
    t.rx(Code.CONF_REQ, 11, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_NAK]);
  });
  test('RCA -> irc, Ack-Rcvd', () => {
    const t = to(State.ReqSent);
    t.rx(Code.CONF_ACK, t.fsm['reqId' as keyof Fsm] as number, REQ);
    assert.equal(st(t.fsm), 'Ack-Rcvd');
  });
  test('Configure-Ack with a stale Identifier or other options is discarded', () => {
    const t = to(State.ReqSent);
    const id = t.fsm['reqId' as keyof Fsm] as number;
    t.rx(Code.CONF_ACK, (id + 1) & 255, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    t.rx(Code.CONF_ACK, id, Uint8Array.of(1, 4, 5, 0));
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.equal(t.fsm.counters.discarded, 2);
  });
  test('RCN -> irc,scr, stays Req-Sent (new Identifier)', () => {
    const t = to(State.ReqSent);
    const id = t.fsm['reqId' as keyof Fsm] as number;
    t.rx(Code.CONF_NAK, id, Uint8Array.of(1, 4, 5, 0));
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
    assert.notEqual(t.sent[0].id, id);
  });
  test('TO+ -> scr; Max-Configure (10) requests then TO- -> tlf, Stopped', () => {
    const t = to(State.ReqSent);
    // one request was sent entering Req-Sent; 9 more on TO+, then TO-
    t.clock.advance(3000 * 9);
    assert.equal(t.codes().filter((c) => c === Code.CONF_REQ).length, 9);
    assert.equal(st(t.fsm), 'Req-Sent');
    t.clock.advance(3000);
    assert.equal(st(t.fsm), 'Stopped');
    assert.deepEqual(t.events, ['tlf']);
    assert.equal(t.fsm.counters.confReqSent, 10);
    assert.equal(t.clock.timerCount, 0);
  });
  test('RTR -> sta, stays Req-Sent', () => {
    const t = to(State.ReqSent);
    t.rx(Code.TERM_REQ, 5);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.TERM_ACK]);
  });
  test('Close -> irc,str, Closing', () => {
    const t = to(State.ReqSent);
    t.fsm.close('going');
    assert.equal(st(t.fsm), 'Closing');
    assert.deepEqual(t.codes(), [Code.TERM_REQ]);
    assert.equal(Buffer.from(t.sent[0].data).toString(), 'going');
  });
  test('RXJ- (Code-Reject of Configure-Request) -> tlf, Stopped', () => {
    const t = to(State.ReqSent);
    t.rx(Code.CODE_REJ, 1, Uint8Array.of(1, 1, 0, 4));
    assert.equal(st(t.fsm), 'Stopped');
    assert.deepEqual(t.events, ['tlf']);
  });
  test('Down -> Starting', () => {
    const t = to(State.ReqSent);
    t.fsm.down();
    assert.equal(st(t.fsm), 'Starting');
    assert.equal(t.clock.timerCount, 0);
  });
  test('a malformed request (judge returns undefined) is discarded', () => {
    const t = to(State.ReqSent);
    t.setVerdict('drop');
    t.rx(Code.CONF_REQ, 3, Uint8Array.of(1));
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.equal(t.sent.length, 0);
  });
});

describe('RFC 1661 automaton: Ack-Rcvd (7)', () => {
  test('RCR+ -> sca,tlu, Opened', () => {
    const t = to(State.AckRcvd);
    t.rx(Code.CONF_REQ, 12, REQ);
    assert.equal(st(t.fsm), 'Opened');
    assert.deepEqual(t.codes(), [Code.CONF_ACK]);
    assert.deepEqual(t.events, ['tlu']);
    assert.equal(t.clock.timerCount, 0, 'no Restart timer in Opened');
  });
  test('RCR- -> scn, stays Ack-Rcvd', () => {
    const t = to(State.AckRcvd);
    t.setVerdict('rej');
    t.rx(Code.CONF_REQ, 12, REQ);
    assert.equal(st(t.fsm), 'Ack-Rcvd');
    assert.deepEqual(t.codes(), [Code.CONF_REJ]);
  });
  test('TO+ -> scr, Req-Sent', () => {
    const t = to(State.AckRcvd);
    t.clock.advance(3000);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
  });
  test('RCA (crossed) -> scr, Req-Sent', () => {
    const t = to(State.AckRcvd);
    t.rx(Code.CONF_ACK, t.fsm['reqId' as keyof Fsm] as number, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
  });
  test('RTA -> Req-Sent; RXJ+ -> Req-Sent', () => {
    const t = to(State.AckRcvd);
    t.rx(Code.TERM_ACK, 1);
    assert.equal(st(t.fsm), 'Req-Sent');
    const u = to(State.AckRcvd);
    u.rx(Code.CODE_REJ, 1, Uint8Array.of(9, 1, 0, 4)); // Echo-Request rejected: tolerable
    assert.equal(st(u.fsm), 'Req-Sent');
  });
  test('RTR -> sta, Req-Sent', () => {
    const t = to(State.AckRcvd);
    t.rx(Code.TERM_REQ, 1);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.TERM_ACK]);
  });
});

describe('RFC 1661 automaton: Ack-Sent (8)', () => {
  test('RCA -> irc,tlu, Opened', () => {
    const t = to(State.AckSent);
    t.rx(Code.CONF_ACK, t.fsm['reqId' as keyof Fsm] as number, REQ);
    assert.equal(st(t.fsm), 'Opened');
    assert.deepEqual(t.events, ['tlu']);
  });
  test('RCR- -> scn, Req-Sent', () => {
    const t = to(State.AckSent);
    t.setVerdict('nak');
    t.rx(Code.CONF_REQ, 13, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_NAK]);
  });
  test('RCR+ -> sca, stays Ack-Sent', () => {
    const t = to(State.AckSent);
    t.rx(Code.CONF_REQ, 13, REQ);
    assert.equal(st(t.fsm), 'Ack-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_ACK]);
  });
  test('RCN -> irc,scr, stays Ack-Sent', () => {
    const t = to(State.AckSent);
    t.rx(Code.CONF_NAK, t.fsm['reqId' as keyof Fsm] as number, REQ);
    assert.equal(st(t.fsm), 'Ack-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
  });
  test('TO+ -> scr, stays Ack-Sent; TO- -> tlf, Stopped', () => {
    const t = to(State.AckSent);
    t.clock.advance(3000);
    assert.equal(st(t.fsm), 'Ack-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
    t.clock.advance(3000 * 9);
    assert.equal(st(t.fsm), 'Stopped');
    assert.deepEqual(t.events, ['tlf']);
  });
});

describe('RFC 1661 automaton: Opened (9)', () => {
  test('RCR+ -> tld,scr,sca, Ack-Sent', () => {
    const t = to(State.Opened);
    t.rx(Code.CONF_REQ, 20, REQ);
    assert.equal(st(t.fsm), 'Ack-Sent');
    assert.deepEqual(t.events, ['tld']);
    assert.deepEqual(t.codes(), [Code.CONF_REQ, Code.CONF_ACK]);
  });
  test('RCR- -> tld,scr,scn, Req-Sent', () => {
    const t = to(State.Opened);
    t.setVerdict('nak');
    t.rx(Code.CONF_REQ, 20, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.events, ['tld']);
    assert.deepEqual(t.codes(), [Code.CONF_REQ, Code.CONF_NAK]);
  });
  test('RCA/RCN -> tld,scr, Req-Sent', () => {
    const t = to(State.Opened);
    t.rx(Code.CONF_NAK, t.fsm['reqId' as keyof Fsm] as number, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.events, ['tld']);
    assert.deepEqual(t.codes(), [Code.CONF_REQ]);
  });
  test('RTR -> tld,zrc,sta, Stopping; then TO- -> tlf, Stopped after one Restart interval', () => {
    const t = to(State.Opened);
    t.rx(Code.TERM_REQ, 21, Uint8Array.of(0x41));
    assert.equal(st(t.fsm), 'Stopping');
    assert.deepEqual(t.events, ['tld']);
    assert.deepEqual(t.sent.map((s) => [s.code, s.id]), [[Code.TERM_ACK, 21]]);
    t.clock.advance(2999);
    assert.equal(st(t.fsm), 'Stopping');
    t.clock.advance(1);
    assert.equal(st(t.fsm), 'Stopped');
    assert.deepEqual(t.events, ['tld', 'tlf']);
    assert.equal(t.codes().filter((c) => c === Code.TERM_REQ).length, 0, 'zrc: no Terminate-Request of our own');
  });
  test('Close -> tld,irc,str, Closing; RTA -> tlf, Closed', () => {
    const t = to(State.Opened);
    t.fsm.close('admin');
    assert.equal(st(t.fsm), 'Closing');
    assert.deepEqual(t.events, ['tld']);
    t.rx(Code.TERM_ACK, t.sent[0].id);
    assert.equal(st(t.fsm), 'Closed');
    assert.deepEqual(t.events, ['tld', 'tlf']);
    assert.equal(t.clock.timerCount, 0);
  });
  test('RXJ- (Code-Reject of Terminate-Request) -> tld,irc,str, Stopping', () => {
    const t = to(State.Opened);
    t.rx(Code.CODE_REJ, 3, Uint8Array.of(5, 1, 0, 4));
    assert.equal(st(t.fsm), 'Stopping');
    assert.deepEqual(t.codes(), [Code.TERM_REQ]);
  });
  test('RXJ+ stays Opened', () => {
    const t = to(State.Opened);
    t.rx(Code.CODE_REJ, 3, Uint8Array.of(9, 1, 0, 4));
    assert.equal(st(t.fsm), 'Opened');
  });
  test('RTA -> tld,scr, Req-Sent', () => {
    const t = to(State.Opened);
    t.rx(Code.TERM_ACK, 3);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.events, ['tld']);
  });
  test('RUC -> scj; a known extra code (RXR) is left to the handler', () => {
    const t = to(State.Opened);
    t.rx(0x63, 3);
    assert.deepEqual(t.codes(), [Code.CODE_REJ]);
    t.rx(Code.ECHO_REQ, 4, Uint8Array.of(0, 0, 0, 0));
    assert.deepEqual(t.codes(), [Code.CODE_REJ]);
    assert.equal(st(t.fsm), 'Opened');
  });
  test('Down -> tld, Starting', () => {
    const t = to(State.Opened);
    t.fsm.down();
    assert.equal(st(t.fsm), 'Starting');
    assert.deepEqual(t.events, ['tld']);
  });
});

describe('RFC 1661 automaton: Closing (4), Stopping (5), Stopped (3)', () => {
  test('Closing: Max-Terminate (2) Terminate-Requests, then TO- -> tlf, Closed', () => {
    const t = to(State.Closing);
    t.clock.advance(3000);
    assert.equal(t.codes().filter((c) => c === Code.TERM_REQ).length, 1);
    assert.equal(st(t.fsm), 'Closing');
    t.clock.advance(3000);
    assert.equal(st(t.fsm), 'Closed');
    assert.deepEqual(t.events, ['tlf']);
    assert.equal(t.clock.timerCount, 0);
  });
  test('Closing: RTR -> sta; RCR ignored; Open -> Stopping', () => {
    const t = to(State.Closing);
    t.rx(Code.TERM_REQ, 40);
    t.rx(Code.CONF_REQ, 41, REQ);
    assert.deepEqual(t.codes(), [Code.TERM_ACK]);
    t.fsm.open();
    assert.equal(st(t.fsm), 'Stopping');
  });
  test('Stopping: RTA -> tlf, Stopped; Close -> Closing', () => {
    const t = to(State.Stopping);
    t.rx(Code.TERM_ACK, 1);
    assert.equal(st(t.fsm), 'Stopped');
    assert.deepEqual(t.events, ['tlf']);
    const u = to(State.Stopping);
    u.fsm.close();
    assert.equal(st(u.fsm), 'Closing');
  });
  test('Stopped: RCR+ -> irc,scr,sca, Ack-Sent', () => {
    const t = to(State.Stopped);
    t.rx(Code.CONF_REQ, 50, REQ);
    assert.equal(st(t.fsm), 'Ack-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ, Code.CONF_ACK]);
  });
  test('Stopped: RCR- -> irc,scr,scn, Req-Sent', () => {
    const t = to(State.Stopped);
    t.setVerdict('nak');
    t.rx(Code.CONF_REQ, 50, REQ);
    assert.equal(st(t.fsm), 'Req-Sent');
    assert.deepEqual(t.codes(), [Code.CONF_REQ, Code.CONF_NAK]);
  });
  test('Stopped: RCA/RCN/RTR -> sta; Close -> Closed; Down -> tls, Starting', () => {
    const t = to(State.Stopped);
    t.rx(Code.CONF_ACK, 1, REQ);
    t.rx(Code.CONF_NAK, 1, REQ);
    t.rx(Code.TERM_REQ, 1);
    assert.deepEqual(t.codes(), [Code.TERM_ACK, Code.TERM_ACK, Code.TERM_ACK]);
    t.fsm.close();
    assert.equal(st(t.fsm), 'Closed');
    const u = to(State.Stopped);
    u.fsm.down();
    assert.equal(st(u.fsm), 'Starting');
    assert.deepEqual(u.events, ['tls']);
  });
});

describe('RFC 1661 §4.6 counters', () => {
  test('Max-Failure (5): the sixth Nak in a row becomes a Configure-Reject', () => {
    const t = to(State.ReqSent);
    t.setVerdict('nak');
    for (let i = 0; i < 6; i++) t.rx(Code.CONF_REQ, 60 + i, REQ);
    assert.deepEqual(t.codes(), [3, 3, 3, 3, 3, 4]);
  });
  test('an Ack resets the failure count', () => {
    const t = to(State.ReqSent);
    t.setVerdict('nak');
    for (let i = 0; i < 4; i++) t.rx(Code.CONF_REQ, 60 + i, REQ);
    t.setVerdict('ack');
    t.rx(Code.CONF_REQ, 70, REQ);
    t.setVerdict('nak');
    for (let i = 0; i < 4; i++) t.rx(Code.CONF_REQ, 80 + i, REQ);
    assert.deepEqual(t.codes(), [3, 3, 3, 3, 2, 3, 3, 3, 3]);
  });
  test('truncated control packets are discarded, not fatal', () => {
    const t = to(State.ReqSent);
    t.fsm.receive(Uint8Array.of(1, 1, 0, 9, 0));
    assert.equal(t.fsm.counters.discarded, 1);
    assert.equal(st(t.fsm), 'Req-Sent');
  });
});
