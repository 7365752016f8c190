/**
 * End to end: L2tpLac <-> L2tpLns with PPP links (MS-CHAPv2, with and without MPPE-128),
 * IPv4 packets both ways, hang-up from either side, and an xl2tpd-style StopCCN without CDN.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { L2tpLac } from '../../../src/protocol/l2tp/lac.js';
import { L2tpLns } from '../../../src/protocol/l2tp/lns.js';
import { L2TP_IP_HEADROOM, type CallStatus, type L2tpCall } from '../../../src/protocol/l2tp/call.js';
import { LocalVerifier } from '../../../src/protocol/ppp/auth/index.js';
import type { UseEncryption } from '../../../src/protocol/ppp/options/ccp-context.js';
import { decodeControlMessage, type L2tpControl } from '../../../src/codec/l2tp/message.js';
import { kind, Net, seededBytes } from './net.js';
import { prng } from '../ppp/link-harness.js';

const USER = 'alice';
const PASSWORD = 'Pa55-w0rd!';
const SECRET = 'e2e-tunnel-secret';
const LAC_ADDR = { address: '198.18.1.1', port: 41000 };
const LNS_ADDR = { address: '198.18.1.2', port: 1701 };

interface E2E {
  net: Net;
  lac: L2tpLac;
  lns: L2tpLns;
  lacStatus: CallStatus[];
  lacIp: Uint8Array[];
  lnsIp: Uint8Array[];
  calls: L2tpCall[];
  logs: string[];
}

function setup(o: { encryption?: UseEncryption; secret?: string; sequencing?: boolean; password?: string } = {}): E2E {
  const net = new Net();
  const logs: string[] = [];
  const lacIp: Uint8Array[] = [];
  const lnsIp: Uint8Array[] = [];
  const calls: L2tpCall[] = [];
  const lacStatus: CallStatus[] = [];
  const lac = new L2tpLac({
    clock: net.clock,
    server: { address: LNS_ADDR.address },
    hostName: 'home',
    secret: o.secret,
    hideAvps: o.secret !== undefined,
    ppp: { user: USER, password: o.password ?? PASSWORD, allow: ['mschap2'], useEncryption: o.encryption ?? 'no', random: prng(3) },
    randomBytes: seededBytes(101),
    send: net.sender(LAC_ADDR),
    log: (l) => logs.push(l),
  });
  const lns = new L2tpLns({
    clock: net.clock,
    hostName: 'office',
    secret: o.secret,
    hideAvps: o.secret !== undefined,
    tunnel: { sequencing: o.sequencing },
    pppFor: () => ({
      verifier: new LocalVerifier((u) => (u === USER ? { password: PASSWORD } : undefined)),
      authentication: ['mschap2'],
      localAddress: '198.18.9.1',
      remoteAddress: '198.18.9.2',
      useEncryption: o.encryption ?? 'no',
      random: prng(4),
    }),
    randomBytes: seededBytes(202),
    send: net.sender(LNS_ADDR),
    log: (l) => logs.push(l),
  });
  lac.onIp = (b, off, len) => lacIp.push(b.slice(off, off + len));
  lac.on('status', (s) => lacStatus.push(s));
  lns.on('call', (c) => {
    calls.push(c);
    c.onIp = (b, off, len) => lnsIp.push(b.slice(off, off + len));
  });
  net.attach(LAC_ADDR.address, (b, off, len, f) => lac.receive(b, off, len, f));
  net.attach(LNS_ADDR.address, (b, off, len, f) => lns.receive(b, off, len, f));
  return { net, lac, lns, lacStatus, lacIp, lnsIp, calls, logs };
}

/** An IPv4-looking packet in a buffer with the headroom sendIp needs. */
function ipIn(len: number, tag: number): { buf: Uint8Array; off: number; len: number } {
  const buf = new Uint8Array(L2TP_IP_HEADROOM + len);
  const off = L2TP_IP_HEADROOM;
  buf[off] = 0x45;
  buf[off + 2] = len >> 8;
  buf[off + 3] = len & 0xff;
  buf[off + 9] = 1;
  for (let i = 20; i < len; i++) buf[off + i] = (tag + i) & 0xff;
  return { buf, off, len };
}

function connect(e: E2E): L2tpCall {
  e.lac.start();
  const ok = e.net.runUntil(() => e.lac.status === 'connected' && e.calls[0]?.status === 'connected', 20_000);
  assert.ok(ok, `not connected: lac ${e.lac.status}, logs:\n${e.logs.slice(-20).join('\n')}`);
  return e.calls[0];
}

function exchange(e: E2E, call: L2tpCall, n = 5): void {
  for (let i = 0; i < n; i++) {
    const a = ipIn(100 + i, i);
    assert.equal(e.lac.sendIp(a.buf, a.off, a.len), true);
    const b = ipIn(200 + i, 50 + i);
    assert.equal(call.sendIp(b.buf, b.off, b.len), true);
  }
  e.net.pump();
  assert.equal(e.lnsIp.length, n);
  assert.equal(e.lacIp.length, n);
  for (let i = 0; i < n; i++) {
    assert.deepEqual(e.lnsIp[i], ipIn(100 + i, i).buf.subarray(L2TP_IP_HEADROOM));
    assert.deepEqual(e.lacIp[i], ipIn(200 + i, 50 + i).buf.subarray(L2TP_IP_HEADROOM));
  }
}

describe('L2TP LAC <-> LNS with PPP', () => {
  for (const [name, enc, secret] of [
    ['MS-CHAPv2, no encryption', 'no', undefined],
    ['MS-CHAPv2 + MPPE-128', 'required', undefined],
    ['MS-CHAPv2 + MPPE-128, tunnel secret and hidden AVPs', 'required', SECRET],
  ] as const) {
    test(`${name}: connects, IPv4 passes both ways`, () => {
      const e = setup({ encryption: enc, secret });
      const call = connect(e);
      assert.deepEqual(e.lacStatus.slice(0, 1), ['dialing']);
      assert.ok(e.lacStatus.includes('verifying password...'));
      assert.equal(e.lacStatus.at(-1), 'connected');
      const info = call.info();
      assert.equal(info.link?.user, USER);
      assert.equal(info.link?.authMethod, 'mschap2');
      assert.equal(info.link?.encoding, enc === 'no' ? 'none' : 'MPPE128 stateless');
      assert.equal(info.link?.remoteAddress, '198.18.9.2');
      exchange(e, call);
      assert.ok(!e.logs.some((l) => l.includes(PASSWORD) || l.includes(SECRET)), 'no secret in the logs');
      if (secret) {
        // Session messages travel with hidden AVPs after a Random Vector (RFC 2661 §4.3).
        const icrq = decodeControlMessage(e.net.sent.find((d) => kind(d) === 'ICRQ')!.data, { secret }) as L2tpControl;
        assert.ok(icrq.rawAvps.some((a) => a.hidden && a.attributeType === 14), 'Assigned Session ID hidden');
        assert.equal(icrq.avps.randomVector?.length, 16);
        assert.equal(icrq.avps.assignedSessionId, call.session.peerId);
      }
    });
  }

  test('data sequencing decided by the LNS: both sides number their data messages', () => {
    const e = setup({ sequencing: true });
    const call = connect(e);
    exchange(e, call);
    const data = e.net.sent.filter((d) => kind(d) === 'data');
    const fromLac = data.filter((d) => d.from.address === LAC_ADDR.address);
    // After the LNS's first numbered message the LAC numbers its own (RFC 2661 §5.4).
    assert.ok(fromLac.slice(-5).every((d) => (d.data[0] & 0x08) !== 0));
    assert.ok(data.filter((d) => d.from.address === LNS_ADDR.address).every((d) => (d.data[0] & 0x08) !== 0));
  });

  test('wrong password: the call is cleared with CDN and the tunnel with StopCCN', () => {
    const e = setup({ password: 'nope' });
    let down = '';
    e.lac.on('down', (r) => (down = r));
    e.lac.start();
    e.net.run(60_000, 100);
    assert.equal(e.lac.status, 'terminated');
    assert.match(down, /auth/i);
    const kinds = e.net.sent.map(kind);
    assert.ok(kinds.indexOf('CDN') > 0 && kinds.indexOf('StopCCN') > kinds.indexOf('CDN'));
    assert.equal(e.lns.endpoint.tunnels.size, 0, 'LNS cleaned up after the hold time');
  });

  test('hang-up from the LAC: LCP terminate, CDN, then StopCCN; everything cleaned up', () => {
    const e = setup({ encryption: 'required' });
    const call = connect(e);
    let lnsDown = '';
    call.on('down', (r) => (lnsDown = r));
    const mark = e.net.sent.length;
    e.lac.close();
    e.net.run(40_000, 100);
    const kinds = e.net.sent.slice(mark).map(kind).filter((k) => k !== 'ZLB');
    assert.equal(kinds.filter((k) => k === 'CDN').length, 1);
    assert.ok(kinds.indexOf('data') < kinds.indexOf('CDN'), 'LCP Terminate before CDN');
    assert.ok(kinds.indexOf('CDN') < kinds.indexOf('StopCCN'));
    assert.equal(e.lac.status, 'terminated');
    assert.equal(call.status, 'terminated');
    assert.ok(lnsDown.length > 0);
    assert.equal(e.lac.endpoint.tunnels.size, 0);
    assert.equal(e.lns.endpoint.tunnels.size, 0);
    assert.equal(e.net.clock.timerCount, 0, 'no timer left');
  });

  test('hang-up from the LNS: the LAC sees CDN, then clears its tunnel', () => {
    const e = setup();
    const call = connect(e);
    let lacDown = '';
    e.lac.on('down', (r) => (lacDown = r));
    call.hangup('kicked by admin');
    e.net.run(40_000, 100);
    assert.equal(e.lac.status, 'terminated');
    assert.ok(lacDown.length > 0);
    const kinds = e.net.sent.map(kind);
    assert.ok(kinds.lastIndexOf('StopCCN') > kinds.lastIndexOf('CDN'));
    assert.equal(e.lac.endpoint.tunnels.size + e.lns.endpoint.tunnels.size, 0);
  });

  test('xl2tpd-style StopCCN without CDN: the LAC call and PPP go down', () => {
    const e = setup({ encryption: 'required' });
    const call = connect(e);
    const t = call.tunnel;
    let lacDown = '';
    e.lac.on('down', (r) => (lacDown = r));
    // The LNS clears the tunnel directly, with no CDN first.
    t.close({ resultCode: 6, errorCode: 0, errorMessage: 'shutting down' });
    e.net.run(1000);
    assert.equal(e.net.sent.filter((d) => kind(d) === 'CDN').length, 0);
    assert.equal(e.lac.status, 'terminated');
    assert.match(lacDown, /StopCCN result 6/);
    assert.equal(e.lac.call?.link?.phase, 'dead');
    e.net.run(40_000, 100);
    assert.equal(e.net.clock.timerCount, 0);
  });

  test('redial after a hang-up: a fresh tunnel and call come up', () => {
    const e = setup({ encryption: 'required' });
    const first = connect(e);
    const firstTunnel = e.lac.tunnel!.localTunnelId;
    e.lac.close();
    e.net.run(2000);
    assert.equal(first.status, 'terminated');
    e.calls.length = 0;
    e.lnsIp.length = 0;
    e.lacIp.length = 0;
    const second = connect(e);
    assert.notEqual(e.lac.tunnel!.localTunnelId, firstTunnel);
    exchange(e, second);
  });

  test('LNS shutdown: StopCCN result 6 to every tunnel; the LAC reports it', () => {
    const e = setup();
    connect(e);
    let down = '';
    e.lac.on('down', (r) => (down = r));
    e.lns.close();
    e.net.run(1000);
    assert.equal(e.lac.status, 'terminated');
    assert.match(down, /StopCCN result 6/);
    e.net.run(40_000, 100);
    assert.equal(e.lac.endpoint.tunnels.size + e.lns.endpoint.tunnels.size, 0);
    assert.equal(e.net.clock.timerCount, 0);
  });

  test('the control channel survives 20 % loss: still connects and passes data', () => {
    const e = setup({ encryption: 'required' });
    const rnd = prng(9);
    e.net.policy = (d) => (kind(d) !== 'data' && rnd() % 5 === 0 ? 'drop' : 'pass');
    const call = connect(e);
    e.net.policy = () => 'pass';
    exchange(e, call);
  });
});
