/**
 * One block per Configuration Option file: value codec (round-trip, typed errors, fuzz)
 * and the negotiation rules (what we request, how we judge the peer's value).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../../src/errors.js';
import type { OptionSpec } from '../../../../src/protocol/ppp/options/types.js';
import type { LcpContext } from '../../../../src/protocol/ppp/options/lcp-context.js';
import type { IpcpContext } from '../../../../src/protocol/ppp/options/ipcp-context.js';
import type { CcpContext } from '../../../../src/protocol/ppp/options/ccp-context.js';
import * as mru from '../../../../src/protocol/ppp/options/lcp-mru.js';
import * as accm from '../../../../src/protocol/ppp/options/lcp-accm.js';
import * as auth from '../../../../src/protocol/ppp/options/lcp-auth.js';
import * as magic from '../../../../src/protocol/ppp/options/lcp-magic.js';
import * as pfc from '../../../../src/protocol/ppp/options/lcp-pfc.js';
import * as acfc from '../../../../src/protocol/ppp/options/lcp-acfc.js';
import * as mrru from '../../../../src/protocol/ppp/options/lcp-mrru.js';
import * as endpoint from '../../../../src/protocol/ppp/options/lcp-endpoint.js';
import * as ipAddr from '../../../../src/protocol/ppp/options/ipcp-address.js';
import * as dns from '../../../../src/protocol/ppp/options/ipcp-dns.js';
import * as nbns from '../../../../src/protocol/ppp/options/ipcp-nbns.js';
import * as vj from '../../../../src/protocol/ppp/options/ipcp-vj.js';
import * as mppe from '../../../../src/protocol/ppp/options/ccp-mppe.js';
import { parseIPv4, formatIPv4 } from '../../../../src/protocol/ppp/options/ipcp-context.js';
import { Negotiator } from '../../../../src/protocol/ppp/negotiator.js';
import { Code } from '../../../../src/codec/ppp/protocols.js';
import * as options from '../../../../src/codec/ppp/options.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const isCodec = (code: string) => (e: unknown) => e instanceof CodecError && e.code === code;

function lcp(over: Partial<LcpContext> = {}): LcpContext {
  let r = 0x12345678;
  return {
    role: 'client', random32: () => (r = (r * 1103515245 + 12345) >>> 0), mru: 1460, maxMru: 1460, requestMru: true,
    magic: 0xcafe0001, requestMagic: true, requestPfc: false, requestAcfc: false, requestMrru: false, requestEndpoint: false,
    authOffer: ['mschap2', 'mschap1'], authRefused: new Set(), allow: ['mschap2', 'mschap1', 'chap', 'pap'],
    peerMru: 1500, peerMagic: 0, peerPfc: false, peerAcfc: false, ourPfcAcked: false, ourAcfcAcked: false, mrruAcked: false, loopCount: 0,
    ...over,
  };
}

function ipcp(over: Partial<IpcpContext> = {}): IpcpContext {
  return {
    role: 'server', localAddress: 0, requestAddress: true, addressHintSent: false, provide: new Map(), ask: new Set(), learned: new Map(), peerAddress: 0,
    ...over,
  };
}

function ccp(over: Partial<CcpContext> = {}): CcpContext {
  const c: CcpContext = {
    useEncryption: 'yes', keysAvailable: true, allowedMask: mppe.BIT_S | mppe.BIT_L, mode: 'stateless', offerMppe: false, reqMask: 0, reqStateless: true, missingHintSent: false,
    ...over,
  };
  mppe.spec.reset!(c);
  return c;
}

/** Codec properties shared by fixed-length options. */
function codecProps(name: string, enc: (v: number) => Uint8Array, dec: (d: Uint8Array) => unknown, len: number, max: number) {
  test(`${name}: round-trip, wrong length -> PPP_ERR_OPTION_LENGTH, fuzz`, () => {
    fc.assert(fc.property(fc.integer({ min: 0, max }), (v) => assert.equal(dec(enc(v)), v)));
    assert.throws(() => dec(new Uint8Array(len + 1)), isCodec('PPP_ERR_OPTION_LENGTH'));
    if (len > 0) assert.throws(() => dec(new Uint8Array(len - 1)), isCodec('PPP_ERR_OPTION_LENGTH'));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (b) => {
        try {
          dec(b);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
    );
  });
}

describe('LCP MRU (option 1)', () => {
  codecProps('MRU', mru.encode, mru.decode, 2, 0xffff);
  test('we request max-mru; peer values >= 128 are acked, smaller Nak\'d with 128', () => {
    const c = lcp();
    assert.deepEqual(mru.spec.request(c), hex('05b4'));
    assert.equal(mru.spec.judge(c, hex('05dc')).kind, 'ack');
    const j = mru.spec.judge(c, hex('0040'));
    assert.equal(j.kind, 'nak');
    assert.deepEqual(j.kind === 'nak' && j.hint, hex('0080'));
    assert.equal(mru.spec.judge(c, hex('05')).kind, 'reject');
  });
  test('a Nak is followed only within [128, max-mru]', () => {
    const c = lcp();
    mru.spec.nakked(c, hex('0500'));
    assert.equal(c.mru, 1280);
    mru.spec.nakked(c, hex('2000'));
    assert.equal(c.mru, 1280);
  });
});

describe('LCP ACCM (option 2)', () => {
  codecProps('ACCM', accm.encode, accm.decode, 4, 0xffffffff);
  test('pppd asyncmap 0 is acked; never requested', () => {
    const c = lcp();
    assert.equal(accm.spec.judge(c, hex('00000000')).kind, 'ack');
    assert.equal(accm.spec.request(c), undefined);
  });
});

describe('LCP Authentication-Protocol (option 3)', () => {
  test('codec: every method round-trips; vectors from pppd', () => {
    for (const m of ['pap', 'chap', 'mschap1', 'mschap2'] as const) assert.equal(auth.decode(auth.encode(m)), m);
    assert.equal(auth.decode(hex('c22380')), 'mschap1');
    assert.equal(auth.decode(hex('c22381')), 'mschap2');
    assert.equal(auth.decode(hex('c227')), undefined, 'EAP is unknown to us');
    assert.throws(() => auth.decode(hex('c2')), isCodec('PPP_ERR_OPTION_LENGTH'));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5 }), (b) => {
      try { auth.decode(b); } catch (e) { if (!(e instanceof CodecError)) throw e; }
    }));
  });
  test('server requests its strongest method first (AUTH_STRENGTH_ORDER)', () => {
    const c = lcp({ role: 'server', authOffer: ['pap', 'chap', 'mschap2'] });
    auth.spec.reset!(c);
    assert.equal(c.authCurrent, 'mschap2');
    assert.deepEqual(auth.spec.request(c), hex('c22381'));
  });
  test('server follows a Nak to a method it allows, else its next method, else fails', () => {
    const c = lcp({ role: 'server', authOffer: ['mschap2', 'mschap1', 'chap'] });
    auth.spec.reset!(c);
    auth.spec.nakked(c, hex('c22305'));
    assert.equal(c.authCurrent, 'chap', 'peer suggested CHAP, we allow it');
    auth.spec.nakked(c, hex('c023'));
    assert.equal(c.authCurrent, 'mschap1', 'peer suggested PAP which we do not allow: our next one');
    auth.spec.nakked(c, hex('c023'));
    assert.equal(c.failure, 'peer refused all allowed methods');
  });
  test('server: a peer rejecting authentication is refused', () => {
    const c = lcp({ role: 'server' });
    auth.spec.reset!(c);
    auth.spec.rejected(c);
    assert.equal(c.failure, 'peer refused all allowed methods');
  });
  test('client: acks an allowed method, Naks with its strongest allowed otherwise', () => {
    const c = lcp({ allow: ['chap', 'pap'] });
    assert.equal(auth.spec.judge(c, hex('c22305')).kind, 'ack');
    const j = auth.spec.judge(c, hex('c22381'));
    assert.deepEqual(j.kind === 'nak' && j.hint, hex('c22305'));
    const k = auth.spec.judge(lcp({ allow: [] }), hex('c023'));
    assert.equal(k.kind, 'reject');
  });
  test('server rejects being asked to authenticate itself', () => {
    assert.equal(auth.spec.judge(lcp({ role: 'server' }), hex('c023')).kind, 'reject');
  });
});

describe('LCP Magic-Number (option 5)', () => {
  codecProps('Magic', magic.encode, magic.decode, 4, 0xffffffff);
  test('a different magic is acked; ours or zero is Nak\'d with a fresh one', () => {
    const c = lcp();
    assert.equal(magic.spec.judge(c, hex('e07ad529')).kind, 'ack');
    const j = magic.spec.judge(c, magic.encode(c.magic));
    assert.equal(j.kind, 'nak');
    const hint = j.kind === 'nak' ? magic.decode(j.hint) : 0;
    assert.notEqual(hint, c.magic);
    assert.notEqual(hint, 0);
    assert.equal(magic.spec.judge(c, hex('00000000')).kind, 'nak');
  });
  test('our own Nak coming back repeatedly means loopback', () => {
    const c = lcp();
    for (let i = 0; i < 3; i++) {
      const j = magic.spec.judge(c, magic.encode(c.magic));
      assert.ok(j.kind === 'nak');
      const before = c.magic;
      magic.spec.nakked(c, j.hint);
      assert.notEqual(c.magic, before, 'a new magic is chosen');
    }
    assert.equal(c.failure, 'loopback detected');
  });
  test('a Nak with another value is not counted as loopback', () => {
    const c = lcp();
    magic.spec.judge(c, magic.encode(c.magic));
    magic.spec.nakked(c, hex('01020304'));
    assert.equal(c.loopCount, 0);
  });
});

describe('LCP PFC (7), ACFC (8)', () => {
  test('no data; acked; a data octet is malformed', () => {
    for (const o of [pfc, acfc]) {
      assert.equal(o.decode(o.encode()), true);
      assert.throws(() => o.decode(hex('00')), isCodec('PPP_ERR_OPTION_LENGTH'));
      const c = lcp();
      assert.equal(o.spec.judge(c, new Uint8Array(0)).kind, 'ack');
      assert.equal(o.spec.judge(c, hex('00')).kind, 'reject');
    }
    const c = lcp();
    pfc.spec.accept!(c, new Uint8Array(0));
    acfc.spec.accept!(c, new Uint8Array(0));
    assert.ok(c.peerPfc && c.peerAcfc);
  });
});

describe('LCP MRRU (17) and Endpoint-Discriminator (19): only when configured', () => {
  codecProps('MRRU', mrru.encode, mrru.decode, 2, 0xffff);
  test('rejected when mrru is disabled; acked and requested when configured', () => {
    assert.equal(mrru.spec.judge(lcp(), hex('064e')).kind, 'reject');
    assert.equal(endpoint.spec.judge(lcp(), hex('0100')).kind, 'reject');
    const c = lcp({ mrru: 1614, requestMrru: true, endpoint: { klass: 1, address: hex('0102') }, requestEndpoint: true });
    assert.equal(mrru.spec.judge(c, hex('064e')).kind, 'ack');
    assert.deepEqual(mrru.spec.request(c), hex('064e'));
    assert.deepEqual(endpoint.spec.request(c), hex('010102'));
    assert.equal(endpoint.spec.judge(c, hex('03a0b0c0d0e0f0')).kind, 'ack');
  });
  test('endpoint codec: class limits, round-trip, fuzz', () => {
    assert.deepEqual(endpoint.decode(endpoint.encode({ klass: 2, address: hex('c6120001') })), { klass: 2, address: hex('c6120001') });
    assert.throws(() => endpoint.decode(hex('0201')), isCodec('PPP_ERR_OPTION_LENGTH'));
    assert.throws(() => endpoint.decode(new Uint8Array(0)), isCodec('PPP_ERR_OPTION_LENGTH'));
    assert.throws(() => endpoint.decode(hex('09')), isCodec('PPP_ERR_OPTION_LENGTH'));
    assert.throws(() => endpoint.encode({ klass: 3, address: hex('01') }), isCodec('PPP_ERR_BAD_FIELD'));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), (b) => {
      try { endpoint.decode(b); } catch (e) { if (!(e instanceof CodecError)) throw e; }
    }));
  });
});

describe('IPCP IP-Address (3), DNS/NBNS (129-132), VJ (2)', () => {
  codecProps('IP-Address', ipAddr.encode, ipAddr.decode, 4, 0xffffffff);
  codecProps('DNS', dns.encode, dns.decode, 4, 0xffffffff);
  test('address text helpers', () => {
    assert.equal(formatIPv4(parseIPv4('198.18.0.1')), '198.18.0.1');
    assert.throws(() => parseIPv4('1.2.3.256'), TypeError);
  });
  test('server assigns: Naks 0.0.0.0 with the assigned address, acks it, hints once when missing', () => {
    const c = ipcp({ assignAddress: parseIPv4('198.19.1.100') });
    const j = ipAddr.spec.judge(c, hex('00000000'));
    assert.deepEqual(j.kind === 'nak' && j.hint, hex('c6130164'));
    assert.equal(ipAddr.spec.judge(c, hex('c6130164')).kind, 'ack');
    assert.deepEqual(ipAddr.spec.missing!(c), hex('c6130164'));
    assert.equal(ipAddr.spec.missing!(c), undefined, 'only once');
  });
  test('client asks with 0.0.0.0 and takes the Nak', () => {
    const c = ipcp({ role: 'client' });
    assert.deepEqual(ipAddr.spec.request(c), hex('00000000'));
    ipAddr.spec.nakked(c, hex('c6130164'));
    assert.deepEqual(ipAddr.spec.request(c), hex('c6130164'));
    assert.equal(ipAddr.spec.judge(c, hex('c6130101')).kind, 'ack', 'the server\'s own address');
    assert.equal(ipAddr.spec.judge(c, hex('00000000')).kind, 'reject', 'nothing to offer');
  });
  test('server hands out configured DNS/NBNS, rejects unconfigured ones', () => {
    const c = ipcp({ provide: new Map([[dns.PRIMARY, parseIPv4('198.18.9.9')]]) });
    const j = dns.primary.judge(c, hex('00000000'));
    assert.deepEqual(j.kind === 'nak' && j.hint, hex('c6120909'));
    assert.equal(dns.primary.judge(c, hex('c6120909')).kind, 'ack');
    assert.equal(dns.secondary.judge(c, hex('00000000')).kind, 'reject');
    assert.equal(nbns.primary.judge(c, hex('00000000')).kind, 'reject');
  });
  test('client asks for DNS only when configured; keeps the Nak; stops on Reject', () => {
    const c = ipcp({ role: 'client', ask: new Set([dns.PRIMARY]) });
    assert.deepEqual(dns.primary.request(c), hex('00000000'));
    assert.equal(dns.secondary.request(c), undefined);
    dns.primary.nakked(c, hex('c6120909'));
    assert.equal(c.learned.get(dns.PRIMARY), parseIPv4('198.18.9.9'));
    dns.primary.rejected(c);
    assert.equal(dns.primary.request(c), undefined);
  });
  test('VJ compression is always rejected', () => {
    assert.equal(vj.spec.judge(ipcp(), hex('002d0f01')).kind, 'reject');
    assert.equal(vj.spec.request(ipcp()), undefined);
  });
});

describe('CCP MPPE (18)', () => {
  codecProps('MPPE', mppe.encode, mppe.decode, 4, 0xffffffff);
  test('vector: pppd require-mppe-128 offers +H +S (01000040) and we accept it', () => {
    assert.equal(mppe.decode(hex('01000040')), mppe.BIT_H | mppe.BIT_S);
    assert.equal(mppe.spec.judge(ccp(), hex('01000040')).kind, 'ack');
  });
  test('we request everything we allow, stateless', () => {
    assert.deepEqual(mppe.spec.request(ccp()), hex('01000060'));
    assert.deepEqual(mppe.spec.request(ccp({ mode: 'stateful' })), hex('00000060'));
    assert.equal(mppe.spec.request(ccp({ useEncryption: 'no' })), undefined);
    assert.equal(mppe.spec.request(ccp({ keysAvailable: false })), undefined, 'no MS-CHAP keys, no MPPE');
  });
  test('responder Naks with the single strongest common key length (RFC 3078 §2.1)', () => {
    const j = mppe.spec.judge(ccp(), hex('010000e0'));
    assert.deepEqual(j.kind === 'nak' && j.hint, hex('01000040'));
    const k = mppe.spec.judge(ccp({ allowedMask: mppe.BIT_L }), hex('01000060'));
    assert.deepEqual(k.kind === 'nak' && k.hint, hex('01000020'));
    assert.equal(mppe.spec.judge(ccp({ allowedMask: mppe.BIT_S }), hex('01000020')).kind, 'reject');
  });
  test('MPPC (C) and obsolete D bits are Nak\'d away; stateful refused by a stateless-only side', () => {
    const j = mppe.spec.judge(ccp(), hex('01000041'));
    assert.deepEqual(j.kind === 'nak' && j.hint, hex('01000040'));
    const k = mppe.spec.judge(ccp(), hex('00000040'));
    assert.deepEqual(k.kind === 'nak' && k.hint, hex('01000040'));
    assert.equal(mppe.spec.judge(ccp({ mode: 'either' }), hex('00000040')).kind, 'ack');
  });
  test('use-encryption=no rejects MPPE; required fails when the peer rejects ours', () => {
    assert.equal(mppe.spec.judge(ccp({ useEncryption: 'no' }), hex('01000040')).kind, 'reject');
    const c = ccp({ useEncryption: 'required' });
    mppe.spec.rejected(c);
    assert.equal(c.failure, 'encryption required but peer refused MPPE');
    const y = ccp({ useEncryption: 'yes' });
    mppe.spec.rejected(y);
    assert.equal(y.failure, undefined);
    assert.equal(mppe.spec.request(y), undefined, 'falls back to clear');
  });
  test('pppd\'s empty CCP Configure-Request: acked with use-encryption=yes, Nak\'d once with MPPE when required', () => {
    const yes = new Negotiator([mppe.spec], ccp());
    assert.equal(yes.judgeRequest(new Uint8Array(0), false)!.code, Code.CONF_ACK);
    const req = new Negotiator([mppe.spec], ccp({ useEncryption: 'required' }));
    const j = req.judgeRequest(new Uint8Array(0), false)!;
    assert.equal(j.code, Code.CONF_NAK);
    assert.deepEqual(j.data, hex('120601000060'));
    assert.equal(req.judgeRequest(new Uint8Array(0), false)!.code, Code.CONF_ACK, 'then accepted (CCP up will refuse clear)');
  });
  test('encoding names', () => {
    assert.equal(mppe.encodingName({ bits: 128, stateless: true }), 'MPPE128 stateless');
    assert.equal(mppe.encodingName({ bits: 40, stateless: false }), 'MPPE40 stateful');
    assert.equal(mppe.encodingName(undefined), 'none');
  });
});

describe('Negotiator (option lists)', () => {
  const specs: OptionSpec<LcpContext>[] = [mru.spec, accm.spec, auth.spec, magic.spec, pfc.spec, acfc.spec, mrru.spec, endpoint.spec];
  test('vector: the real pppd LCP Configure-Request is acked verbatim by our server', () => {
    const c = lcp({ role: 'server' });
    const n = new Negotiator(specs, c);
    n.reset();
    const req = hex('0206000000000506e07ad52907020802');
    const j = n.judgeRequest(req, false)!;
    assert.equal(j.code, Code.CONF_ACK);
    assert.deepEqual(j.data, req);
    assert.equal(c.peerMagic, 0xe07ad529);
    assert.ok(c.peerPfc && c.peerAcfc);
  });
  test('unknown options (callback 13, BACP 23) are rejected, and Reject wins over Nak', () => {
    const n = new Negotiator(specs, lcp());
    const j = n.judgeRequest(hex('0104 0040 0d0306 1704 0001'), false)!;
    assert.equal(j.code, Code.CONF_REJ);
    assert.deepEqual(j.data, hex('0d0306 17040001'));
  });
  test('Naks carry hints; after Max-Failure they become Rejects', () => {
    const n = new Negotiator(specs, lcp());
    const j = n.judgeRequest(hex('01040040'), false)!;
    assert.equal(j.code, Code.CONF_NAK);
    assert.deepEqual(j.data, hex('01040080'));
    assert.equal(n.judgeRequest(hex('01040040'), true)!.code, Code.CONF_REJ);
  });
  test('a malformed option list is discarded', () => {
    const n = new Negotiator(specs, lcp());
    assert.equal(n.judgeRequest(hex('0101'), false), undefined);
  });
  test('Ack must repeat our request exactly; Reject may only name options we sent', () => {
    const n = new Negotiator(specs, lcp());
    const ours = n.buildRequest();
    assert.deepEqual(options.decode(ours).map((o) => o.type), [1, 5]);
    assert.equal(n.ackReceived(ours), true);
    assert.equal(n.ackReceived(hex('010405b4')), false);
    assert.equal(n.rejectReceived(hex('0702')), false);
    assert.equal(n.rejectReceived(hex('010405b4')), true);
    assert.deepEqual(options.decode(n.buildRequest()).map((o) => o.type), [5]);
  });
  test('fuzz: well-formed option lists with arbitrary values never throw (request, Nak, Reject)', () => {
    const opt = fc.record({ type: fc.constantFrom(1, 2, 3, 5, 7, 8, 13, 17, 19, 200), data: fc.uint8Array({ maxLength: 6 }) });
    fc.assert(
      fc.property(fc.array(opt, { maxLength: 6 }), fc.constantFrom<'client' | 'server'>('client', 'server'), (list, role) => {
        const c = lcp({ role, mrru: role === 'server' ? 1614 : undefined });
        const n = new Negotiator(specs, c);
        n.reset();
        n.buildRequest();
        const b = options.encode(list);
        assert.ok(n.judgeRequest(b, false));
        assert.equal(n.nakReceived(b), true);
        n.rejectReceived(b);
        n.buildRequest();
      }),
      { numRuns: 3000 },
    );
  });
  test('fuzz: judging arbitrary requests never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.constantFrom<'client' | 'server'>('client', 'server'), (b, nr, role) => {
        const n = new Negotiator(specs, lcp({ role }));
        n.reset();
        const j = n.judgeRequest(b, nr);
        if (j) assert.ok([Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ].includes(j.code as 2 | 3 | 4));
        n.nakReceived(b);
        n.rejectReceived(b);
      }),
      { numRuns: 3000 },
    );
  });
  test('fuzz: IPCP and CCP option sets never throw either', () => {
    const ipSpecs = [ipAddr.spec, vj.spec, dns.primary, nbns.primary, dns.secondary, nbns.secondary];
    const opt = fc.record({ type: fc.constantFrom(2, 3, 18, 129, 130, 131, 132, 9), data: fc.uint8Array({ maxLength: 6 }) });
    fc.assert(
      fc.property(fc.array(opt, { maxLength: 6 }), fc.boolean(), (list, server) => {
        const b = options.encode(list);
        const ic = server ? ipcp({ assignAddress: 0x0a000002, provide: new Map([[129, 1]]) }) : ipcp({ role: 'client', ask: new Set([129, 131]) });
        const n1 = new Negotiator(ipSpecs, ic);
        n1.reset();
        n1.buildRequest();
        assert.ok(n1.judgeRequest(b, false));
        n1.nakReceived(b);
        n1.rejectReceived(b);
        const n2 = new Negotiator([mppe.spec], ccp({ useEncryption: server ? 'required' : 'yes' }));
        n2.reset();
        n2.buildRequest();
        assert.ok(n2.judgeRequest(b, false));
        n2.nakReceived(b);
        n2.rejectReceived(b);
      }),
      { numRuns: 3000 },
    );
  });
});
