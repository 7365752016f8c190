/**
 * Our PPP client against our PPP server over an in-memory wire with a FakeClock.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { makePair, ipPacket, protocolOf, prng, type Pair } from './link-harness.js';
import { Link, DATA_HEADROOM, REASON } from '../../../src/protocol/ppp/link.js';
import { FakeClock } from '../../../src/protocol/clock.js';
import type { AuthMethod } from '../../../src/protocol/ppp/auth/types.js';
import type { MppeBits, MppeMode } from '../../../src/protocol/ppp/options/ccp-context.js';
import * as frame from '../../../src/codec/ppp/frame.js';
import * as packet from '../../../src/codec/ppp/packet.js';
import { Code, PppProtocol } from '../../../src/codec/ppp/protocols.js';
import { ConfigError } from '../../../src/errors.js';

const METHODS: AuthMethod[] = ['pap', 'chap', 'mschap1', 'mschap2'];
const ENCRYPTIONS: { name: string; ue: 'no' | 'yes'; bits?: MppeBits[]; mode?: MppeMode; expect: string }[] = [
  { name: 'no MPPE', ue: 'no', expect: 'none' },
  { name: 'MPPE-40', ue: 'yes', bits: [40], expect: 'MPPE40 stateless' },
  { name: 'MPPE-128 stateless', ue: 'yes', bits: [128], mode: 'stateless', expect: 'MPPE128 stateless' },
  { name: 'MPPE-128 stateful', ue: 'yes', bits: [128], mode: 'stateful', expect: 'MPPE128 stateful' },
];

function bothUp(p: Pair): boolean {
  return !!p.client.up && !!p.server.up;
}

function exchange(p: Pair, n: number, size = 200): void {
  for (let i = 0; i < n; i++) {
    assert.ok(p.client.link.sendData(ipPacket(size + i, i)), 'client may send');
    assert.ok(p.server.link.sendData(ipPacket(size + 2 * i, 100 + i)), 'server may send');
    p.pump();
  }
  assert.equal(p.server.data.length, n, 'server received every packet');
  assert.equal(p.client.data.length, n, 'client received every packet');
  for (let i = 0; i < n; i++) {
    assert.deepEqual(p.server.data[i], ipPacket(size + i, i));
    assert.deepEqual(p.client.data[i], ipPacket(size + 2 * i, 100 + i));
  }
}

describe('Link: every auth method x encryption, data both ways', () => {
  for (const m of METHODS) {
    for (const e of ENCRYPTIONS) {
      // MPPE keys come from MS-CHAP only (RFC 3079): with PAP/CHAP use-encryption=yes falls back to clear.
      const expect = m === 'pap' || m === 'chap' ? 'none' : e.expect;
      test(`${m} / ${e.name} -> encoding "${expect}"`, () => {
        const enc = { useEncryption: e.ue, mppeBits: e.bits, mppeMode: e.mode };
        const p = makePair({ allow: [m], ...enc }, { authentication: [m], ...enc }, 7);
        p.start();
        assert.ok(p.runUntil(() => bothUp(p), 20_000), `both up (client log: ${p.client.log.slice(-5).join(' | ')})`);
        const ci = p.client.link.info();
        const si = p.server.link.info();
        assert.equal(ci.encoding, expect);
        assert.equal(si.encoding, expect);
        assert.equal(ci.authMethod, m);
        assert.equal(si.authMethod, m);
        assert.equal(si.user, 'alice');
        assert.equal(ci.localAddress, '198.18.5.2');
        assert.equal(ci.remoteAddress, '198.18.5.1');
        assert.equal(si.localAddress, '198.18.5.1');
        assert.equal(si.remoteAddress, '198.18.5.2');
        // MPPE's header and inner protocol field count against the peer's MRU (as pppd does).
        assert.equal(ci.mtu, expect === 'none' ? 1460 : 1456);
        assert.equal(ci.mru, 1460);
        assert.equal(ci.phase, 'running');
        assert.equal(ci.status, 'connected');
        exchange(p, m === 'mschap2' && e.mode === 'stateful' ? 300 : 5);
        if (expect !== 'none') {
          // Nothing went out in clear once up: every data frame is 0x00FD.
          const clear = [...p.client.sent, ...p.server.sent].filter((s) => protocolOf(s.f) === PppProtocol.IPV4);
          assert.equal(clear.length, 0);
        }
        p.client.link.close();
        p.run(10_000);
        assert.equal(p.client.down, REASON.CLOSED);
        assert.equal(p.server.down, REASON.CLOSED);
        assert.equal(p.client.link.info().status, 'terminated');
        assert.equal(p.client.link.info().reason, REASON.CLOSED);
        assert.deepEqual(p.client.phases.slice(0, 4), ['establish', 'authenticate', 'network', 'running']);
        assert.equal(p.clock.timerCount, 0, 'no timer left behind');
      });
    }
  }
});

describe('Link: failures a user sees', () => {
  test('wrong password: both down with "authentication failed"', () => {
    for (const m of METHODS) {
      const p = makePair({ allow: [m], password: 'wrong' }, { authentication: [m] });
      p.start();
      p.run(30_000);
      assert.equal(p.client.down, 'authentication failed', `${m} client`);
      assert.equal(p.server.down, 'authentication failed', `${m} server`);
      assert.equal(p.client.up, undefined);
      assert.equal(p.clock.timerCount, 0);
    }
  });

  test('unknown user: "authentication failed"', () => {
    const p = makePair({ user: 'mallory' }, {});
    p.start();
    p.run(30_000);
    assert.equal(p.client.down, 'authentication failed');
    assert.equal(p.server.down, 'authentication failed');
  });

  test('no common method: both down with "peer refused all allowed methods"', () => {
    const p = makePair({ allow: ['pap', 'chap'] }, { authentication: ['mschap2', 'mschap1'] });
    p.start();
    p.run(30_000);
    assert.equal(p.server.down, 'peer refused all allowed methods');
    assert.equal(p.client.down, 'peer refused all allowed methods');
  });

  test('server offers the strongest allowed method and follows the client\'s Nak', () => {
    const p = makePair({ allow: ['chap', 'pap'] }, { authentication: ['pap', 'chap', 'mschap1', 'mschap2'] });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.equal(p.server.link.info().authMethod, 'chap');
    // The first LCP request asked for MS-CHAPv2 (strongest), the client Nak'd with CHAP.
    const lcpReqs = p.server.sent.map((s) => frame.decode(s.f)).filter((d) => d.protocol === PppProtocol.LCP).map((d) => packet.decode(d.info)).filter((k) => k.code === Code.CONF_REQ);
    const hasAuth = (d: Uint8Array, hexv: string) => Buffer.from(d).toString('hex').includes(hexv);
    assert.ok(hasAuth(lcpReqs[0].data, '0305c22381'), 'first request: MS-CHAPv2');
    assert.ok(hasAuth(lcpReqs[lcpReqs.length - 1].data, '0305c22305'), 'final request: CHAP-MD5');
  });

  test('encryption required but refused: terminates with a clear reason, no cleartext data passes', () => {
    const p = makePair({ useEncryption: 'no' }, { useEncryption: 'required' });
    p.start();
    let sentOk = 0;
    for (let t = 0; t < 30_000 && !p.server.down; t += 10) {
      if (p.client.link.sendData(ipPacket(100, t))) sentOk++;
      if (p.server.link.sendData(ipPacket(100, t))) sentOk++;
      p.run(10);
    }
    p.run(10_000);
    assert.equal(p.server.down, REASON.MPPE_REFUSED);
    assert.equal(p.client.down, REASON.MPPE_REFUSED, 'the client learns why from the Terminate-Request');
    assert.equal(p.server.data.length, 0);
    assert.equal(p.client.data.length, 0);
    assert.equal(p.server.up, undefined, 'the server never reported up');
    const clear = [...p.client.sent, ...p.server.sent].filter((s) => protocolOf(s.f) === PppProtocol.IPV4);
    assert.equal(clear.length, 0, 'no IPv4 frame on the wire');
    assert.equal(sentOk, 0);
  });

  test('encryption required with PAP (no MPPE keys): terminates', () => {
    const p = makePair({ allow: ['pap'], useEncryption: 'yes' }, { authentication: ['pap'], useEncryption: 'required' });
    p.start();
    p.run(30_000);
    assert.equal(p.server.down, REASON.MPPE_UNAVAILABLE);
    assert.equal(p.client.down, REASON.MPPE_UNAVAILABLE);
    assert.equal(p.server.data.length + p.client.data.length, 0);
  });

  test('use-encryption=required on both sides: MPPE-128 and a cleartext frame is dropped and counted', () => {
    const p = makePair({ useEncryption: 'required' }, { useEncryption: 'required' });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.equal(p.server.link.info().encoding, 'MPPE128 stateless');
    // A forged cleartext IPv4 frame from the "peer" never reaches the server's upper layer.
    const forged = frame.encode(PppProtocol.IPV4, ipPacket(60, 1));
    p.server.link.receiveFrame(forged);
    assert.equal(p.server.data.length, 0);
    assert.equal(p.server.link.stats.drops.cleartext, 1);
    exchange(p, 3);
  });

  test('10% frame loss during negotiation: restart timers recover (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const p = makePair({ useEncryption: 'yes' }, { useEncryption: 'yes' }, seed);
      const loss = prng(seed * 7919);
      let dropped = 0;
      p.drop = () => {
        if (bothUp(p)) return false;
        const d = loss() / 2 ** 32 < 0.1;
        if (d) dropped++;
        return d;
      };
      p.start();
      assert.ok(p.runUntil(() => bothUp(p), 120_000), `seed ${seed}: up despite loss (server: ${p.server.down ?? p.server.link.phase}, client: ${p.client.down ?? p.client.link.phase})`);
      assert.equal(p.client.link.info().encoding, 'MPPE128 stateless');
      exchange(p, 3);
      if (seed === 1) assert.ok(dropped > 0, 'some frames were dropped');
    }
  });

  test('10% frame loss: every auth method recovers (3 seeds each)', () => {
    for (const m of METHODS) {
      for (const seed of [11, 12, 13]) {
        const p = makePair({ allow: [m], useEncryption: 'yes' }, { authentication: [m], useEncryption: 'yes' }, seed);
        const loss = prng(seed * 104729);
        p.drop = () => !bothUp(p) && loss() / 2 ** 32 < 0.1;
        p.start();
        assert.ok(p.runUntil(() => bothUp(p), 120_000), `${m} seed ${seed}: up despite loss (server: ${p.server.down ?? p.server.link.phase}, client: ${p.client.down ?? p.client.link.phase})`);
        exchange(p, 2);
      }
    }
  });
});

describe('Link: keepalive (seeds: keepalive-timeout, five echoes one second apart)', () => {
  test('silent peer: 5 Echo-Requests at T+0..T+4 s, down with "LCP missed echo reply" at T+5 s', () => {
    const p = makePair({ keepaliveTimeout: 0 }, { keepaliveTimeout: 30 });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    p.run(1000);
    // The client vanishes: nothing from it reaches the server any more.
    p.drop = (from) => from === 'client';
    const t0 = p.server.lastDelivered;
    p.run(60_000, 10);
    const echoes = p.server.sent.filter((s) => {
      const d = frame.decode(s.f);
      return d.protocol === PppProtocol.LCP && packet.decode(d.info).code === Code.ECHO_REQ;
    });
    assert.equal(p.server.down, 'LCP missed echo reply');
    assert.equal(echoes.length, 5);
    assert.equal(p.server.link.stats.echoRequestsSent, 5);
    assert.deepEqual(echoes.map((e) => e.t - t0), [30_000, 31_000, 32_000, 33_000, 34_000]);
    assert.equal(p.server.downAt! - t0, 35_000);
    assert.equal(p.server.log.filter((l) => l.endsWith('LCP missed echo reply')).length >= 4, true);
  });

  test('an idle but live peer answers echoes and the link stays up', () => {
    const p = makePair({ keepaliveTimeout: 60 }, { keepaliveTimeout: 30 });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    p.run(600_000, 100);
    assert.equal(p.server.down, undefined);
    assert.equal(p.client.down, undefined);
    assert.ok(p.server.link.stats.echoRepliesReceived >= 10);
    assert.ok(p.server.link.info().idleMs >= 590_000, 'idle-time counts data only');
  });
});

describe('Link: looped-back link', () => {
  test('Magic-Number detects a link talking to itself: down with "loopback detected"', () => {
    const clock = new FakeClock();
    const q: Uint8Array[] = [];
    let down: string | undefined;
    const link = new Link({
      role: 'client', clock, user: 'u', password: 'p', random: prng(3),
      onFrame: (f) => q.push(f.slice()),
      onDown: (r) => { down = r; },
    });
    link.start();
    for (let i = 0; i < 3000 && down === undefined; i++) {
      while (q.length) link.receiveFrame(q.shift()!);
      clock.advance(10);
    }
    assert.equal(down, 'loopback detected');
    assert.equal(clock.timerCount, 0);
  });
});

describe('Link: framing and protocol handling', () => {
  test('ACFC/PFC are honoured when the peer asks; frames longer than MRU are dropped and counted', () => {
    const p = makePair({ requestAcfc: true, requestPfc: true }, { requestAcfc: true, requestPfc: true });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    exchange(p, 2);
    const data = p.client.sent.filter((s) => frame.decode(s.f).protocol === PppProtocol.IPV4);
    assert.equal(data[0].f[0], 0x21, 'no FF 03 and a one-octet protocol');
    const big = frame.encode(PppProtocol.IPV4, ipPacket(1461, 0));
    p.server.link.receiveFrame(big);
    assert.equal(p.server.link.stats.drops.tooLong, 1);
    assert.equal(p.server.data.length, 2);
    assert.equal(p.client.link.sendData(ipPacket(1461, 0)), false, 'above MTU is refused');
  });

  test('unknown protocol: Protocol-Reject, counted', () => {
    const p = makePair();
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    const before = p.server.sent.length;
    p.server.link.receiveFrame(frame.encode(0x8057, packet.encode({ code: 1, id: 1, data: new Uint8Array(0) }))); // IPV6CP
    const rej = p.server.sent.slice(before).map((s) => frame.decode(s.f));
    assert.equal(rej.length, 1);
    assert.equal(rej[0].protocol, PppProtocol.LCP);
    const k = packet.decode(rej[0].info);
    assert.equal(k.code, Code.PROTO_REJ);
    assert.deepEqual([...k.data.subarray(0, 2)], [0x80, 0x57]);
    assert.equal(p.server.link.stats.drops.unknownProtocol, 1);
    p.pump();
    assert.equal(p.client.down, undefined, 'the peer lives with the reject');
  });

  test('garbage frames are counted as bad framing, not thrown', () => {
    const p = makePair();
    p.start();
    p.server.link.receiveFrame(Uint8Array.of(0xff, 0x05, 0xc0, 0x21));
    p.server.link.receiveFrame(Uint8Array.of(0xc0));
    assert.equal(p.server.link.stats.drops.badFraming, 2);
  });

  test('wrapData frames in place with the documented headroom, without allocating a new buffer', () => {
    const p = makePair({ useEncryption: 'yes' }, { useEncryption: 'yes' });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    const buf = new Uint8Array(DATA_HEADROOM + 1500);
    const ip = ipPacket(300, 9);
    buf.set(ip, DATA_HEADROOM);
    const s = p.client.link.wrapData(buf, DATA_HEADROOM, ip.length);
    assert.ok(s >= 0);
    p.server.link.receiveFrame(buf, s, DATA_HEADROOM + ip.length - s);
    assert.deepEqual(p.server.data[0], ip);
  });

  for (const [cu, su] of [['no', 'no'], ['no', 'yes'], ['required', 'required']] as const) {
    test(`peer renegotiates LCP (client ${cu}, server ${su}): back to establish, up again, data flows`, () => {
      const p = makePair({ useEncryption: cu }, { useEncryption: su });
      p.start();
      assert.ok(p.runUntil(() => bothUp(p), 20_000));
      const encoding = p.client.link.info().encoding;
      p.client.up = undefined;
      p.server.up = undefined;
      // A fresh LCP Configure-Request reaches the server while Opened (RFC 1661 RCR/9: tld, scr, sca).
      p.server.link.receiveFrame(frame.encode(PppProtocol.LCP, packet.encode({ code: 1, id: 99, data: Uint8Array.of(1, 4, 0x05, 0xb4) })));
      assert.equal(p.server.link.phase, 'establish');
      assert.equal(p.server.link.sendData(ipPacket(60, 1)), false, 'no data while renegotiating');
      assert.ok(p.runUntil(() => bothUp(p), 40_000), 'both sides renegotiate LCP, authenticate again and come back up');
      assert.equal(p.server.down, undefined);
      assert.equal(p.client.down, undefined);
      assert.equal(p.client.link.info().encoding, encoding);
      assert.ok(p.server.phases.filter((x) => x === 'running').length >= 2);
      exchange(p, 2);
    });
  }
});

describe('Link: MPPE stateful resynchronisation (CCP Reset-Request)', () => {
  test('a lost data frame: the receiver sends Reset-Request, the sender flushes, data flows again', () => {
    const enc = { useEncryption: 'required' as const, mppeBits: [128] as MppeBits[], mppeMode: 'stateful' as const };
    const p = makePair({ allow: ['mschap2'], ...enc }, { authentication: ['mschap2'], ...enc });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.equal(p.server.link.info().encoding, 'MPPE128 stateful');
    for (let i = 0; i < 3; i++) p.client.link.sendData(ipPacket(100, i));
    p.pump();
    assert.equal(p.server.data.length, 3);
    // Lose exactly one client data frame.
    let lost = 0;
    p.drop = (from, f) => from === 'client' && protocolOf(f) === PppProtocol.COMPRESSED && lost++ === 0;
    p.client.link.sendData(ipPacket(100, 50));
    p.pump();
    p.client.link.sendData(ipPacket(100, 51)); // out of sequence: dropped, Reset-Request sent
    p.pump();
    const resetReqs = p.server.sent.filter((s) => {
      const d = frame.decode(s.f);
      return d.protocol === PppProtocol.CCP && packet.decode(d.info).code === Code.RESET_REQ;
    });
    assert.equal(resetReqs.length, 1, 'one CCP Reset-Request');
    assert.equal(p.server.data.length, 3);
    // The next packet from the client carries FLUSHED and is decrypted.
    p.client.link.sendData(ipPacket(100, 52));
    p.pump();
    assert.equal(p.server.data.length, 4);
    assert.deepEqual(p.server.data[3], ipPacket(100, 52));
    assert.equal(p.server.link.stats.drops.decryptFailed, 1);
    for (let i = 0; i < 300; i++) p.client.link.sendData(ipPacket(64, i));
    p.pump();
    assert.equal(p.server.data.length, 304, 'in sync across the flag packets that follow');
  });
});

describe('Link: IPCP DNS/NBNS and multilink options', () => {
  test('client with use-peer-dns learns the server\'s DNS servers', () => {
    const p = makePair({ usePeerDns: true }, { dns: ['198.18.9.9', '198.18.9.10'], nbns: ['198.18.9.11'] });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.deepEqual(p.client.link.info().dns, ['198.18.9.9', '198.18.9.10']);
    assert.deepEqual(p.server.link.info().dns, ['198.18.9.9', '198.18.9.10']);
  });
  test('client asking for DNS from a server without any: rejected, link still up', () => {
    const p = makePair({ usePeerDns: true }, {});
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.deepEqual(p.client.link.info().dns, []);
  });
  test('MRRU negotiated only when both sides configure it', () => {
    const p = makePair({ mrru: 1614, endpoint: { klass: 1, address: Uint8Array.of(1, 2, 3) } }, { mrru: 1600 });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.equal(p.client.link.info().mrru, 1600);
    assert.equal(p.server.link.info().mrru, 1614);
    const q = makePair({ mrru: 1614 }, {});
    q.start();
    assert.ok(q.runUntil(() => bothUp(q), 20_000), 'a peer without multilink rejects MRRU and the link still comes up');
    assert.equal(q.client.link.info().mrru, undefined);
  });
});

describe('Link: robustness', () => {
  test('fuzz: arbitrary frames at any phase never throw', async () => {
    const fc = (await import('fast-check')).default;
    const p = makePair({ useEncryption: 'yes' }, { useEncryption: 'yes' });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    const proto = fc.constantFrom(0xc021, 0x8021, 0x80fd, 0x0021, 0x00fd, 0xc023, 0xc223, 0x8057, 0x003d);
    fc.assert(
      fc.property(proto, fc.uint8Array({ maxLength: 64 }), fc.boolean(), (pr, info, mangle) => {
        const f = frame.encode(pr, info);
        if (mangle && f.length > 2) f[2] ^= 0x40;
        p.server.link.receiveFrame(f);
        p.client.link.receiveFrame(f);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('Link: CCP participation by use-encryption', () => {
  test('use-encryption=no on both sides: no CCP frame at all', () => {
    const p = makePair({ useEncryption: 'no' }, { useEncryption: 'no' });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    p.run(40_000);
    const ccp = [...p.client.sent, ...p.server.sent].filter((s) => protocolOf(s.f) === PppProtocol.CCP);
    assert.equal(ccp.length, 0);
  });
  test('use-encryption=no against yes: the passive side answers CCP, refuses MPPE, link runs in clear', () => {
    const p = makePair({ useEncryption: 'no' }, { useEncryption: 'yes' });
    p.start();
    assert.ok(p.runUntil(() => bothUp(p), 20_000));
    assert.equal(p.client.link.info().encoding, 'none');
    assert.equal(p.server.link.info().encoding, 'none');
    exchange(p, 2);
  });
  test('use-encryption=yes against a peer that Protocol-Rejects CCP: up in clear', () => {
    const p = makePair({ useEncryption: 'yes' }, { useEncryption: 'yes' });
    // The "server" pretends not to know CCP: every CCP frame it receives is protocol-rejected.
    const orig = p.server.link.receiveFrame.bind(p.server.link);
    p.server.link.receiveFrame = (buf: Uint8Array, off = 0, len = buf.length - off) => {
      const d = frame.decode(buf.subarray(off, off + len));
      if (d.protocol === PppProtocol.CCP) {
        const body = new Uint8Array(2 + d.info.length);
        body.set([0x80, 0xfd]);
        body.set(d.info, 2);
        p.client.link.receiveFrame(frame.encode(PppProtocol.LCP, packet.encode({ code: Code.PROTO_REJ, id: 200, data: body })));
        return;
      }
      orig(buf, off, len);
    };
    p.start();
    assert.ok(p.runUntil(() => !!p.client.up, 20_000));
    assert.equal(p.client.link.info().encoding, 'none');
  });
});

describe('Link: configuration errors', () => {
  const base = { clock: new FakeClock(), onFrame: () => {} };
  const isConfig = (e: unknown) => e instanceof ConfigError && e.code.startsWith('CONFIG_ERR_') && /expected|needs/.test(e.message);
  test('bad values are ConfigErrors that name the field', () => {
    assert.throws(() => new Link({ ...base, role: 'client', user: 'u', password: 'p', allow: ['mschap3' as AuthMethod] }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'client', user: 'u', password: 'p', useEncryption: 'maybe' as 'yes' }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'client', user: 'u', password: 'p', maxMru: 64 }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'client', user: 'u', password: 'p', mrru: 100 }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'client', user: 'u', password: 'p', keepaliveTimeout: -1 }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'client' }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'server' }), isConfig);
    assert.throws(() => new Link({ ...base, role: 'server', verifier: { verify: () => ({ ok: false, message: 'x' }) }, remoteAddress: '10.0.0.300' }), /remote-address/);
  });
});

describe('Link: client facing a pppd-like server without a common method', () => {
  test('server asks MS-CHAPv2, we Nak with PAP, it terminates with its own text: "peer refused all allowed methods"', () => {
    const clock = new FakeClock();
    const out: Uint8Array[] = [];
    let down: string | undefined;
    const link = new Link({ role: 'client', clock, user: 'u', password: 'p', allow: ['pap'], onFrame: (f) => out.push(f.slice()), onDown: (r) => { down = r; } });
    link.start();
    const lcp = (code: number, id: number, data: Uint8Array) => link.receiveFrame(frame.encode(PppProtocol.LCP, packet.encode({ code, id, data })));
    lcp(Code.CONF_REQ, 1, Uint8Array.of(3, 5, 0xc2, 0x23, 0x81, 5, 6, 1, 2, 3, 4));
    const nak = packet.decode(frame.decode(out[out.length - 1]).info);
    assert.equal(nak.code, Code.CONF_NAK);
    assert.deepEqual([...nak.data], [3, 4, 0xc0, 0x23], 'Nak suggests PAP');
    lcp(Code.TERM_REQ, 2, new TextEncoder().encode('peer refused to authenticate'));
    assert.equal(down, 'peer refused all allowed methods');
    const ack = packet.decode(frame.decode(out[out.length - 1]).info);
    assert.equal(ack.code, Code.TERM_ACK, 'the Terminate-Request was acknowledged');
  });
  test('pppd\'s way: it drops the Authentication-Protocol after our Nak, opens LCP, then terminates', () => {
    const clock = new FakeClock();
    const out: Uint8Array[] = [];
    let down: string | undefined;
    const link = new Link({ role: 'client', clock, user: 'u', password: 'p', allow: ['pap'], onFrame: (f) => out.push(f.slice()), onDown: (r) => { down = r; } });
    link.start();
    const ourReq = packet.decode(frame.decode(out[0]).info);
    const lcp = (code: number, id: number, data: Uint8Array) => link.receiveFrame(frame.encode(PppProtocol.LCP, packet.encode({ code, id, data })));
    lcp(Code.CONF_ACK, ourReq.id, ourReq.data);
    lcp(Code.CONF_REQ, 1, Uint8Array.of(3, 5, 0xc2, 0x23, 0x81, 5, 6, 1, 2, 3, 4));
    lcp(Code.CONF_REQ, 2, Uint8Array.of(5, 6, 1, 2, 3, 4));
    assert.equal(link.phase, 'network', 'LCP opened without authentication');
    lcp(Code.TERM_REQ, 3, new TextEncoder().encode('peer refused to authenticate'));
    clock.advance(10_000);
    assert.equal(down, 'peer refused all allowed methods');
  });
});
