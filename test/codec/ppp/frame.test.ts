import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import * as frame from '../../../src/codec/ppp/frame.js';
import { PppProtocol } from '../../../src/codec/ppp/protocols.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
function throwsCode(fn: () => unknown, code: string) {
  assert.throws(fn, (e: unknown) => e instanceof CodecError && e.code === code);
}

describe('PPP frame header: vectors from real pppd sessions (test/fixtures/ppp)', () => {
  test('LCP Configure-Request with address/control', () => {
    const d = frame.decode(hex('ff03c021010100140206000000000506e07ad52907020802'));
    assert.equal(d.protocol, PppProtocol.LCP);
    assert.equal(d.addressControl, true);
    assert.deepEqual(d.info, hex('010100140206000000000506e07ad52907020802'));
  });
  test('LCP Echo-Request sent by pppd after ACFC, without FF 03', () => {
    const d = frame.decode(hex('c021090000088c16a7a2'));
    assert.equal(d.protocol, PppProtocol.LCP);
    assert.equal(d.addressControl, false);
    assert.equal(d.info.length, 8);
  });
  test('MPPE datagram with ACFC and PFC: one-octet protocol 0xFD', () => {
    const d = frame.decode(hex('fd9000b259796e0d'));
    assert.equal(d.protocol, PppProtocol.COMPRESSED);
    assert.deepEqual(d.info, hex('9000b259796e0d'));
  });
  test('IPv4 with FF 03 and full protocol', () => {
    const d = frame.decode(hex('ff03002145000054'));
    assert.equal(d.protocol, PppProtocol.IPV4);
    assert.deepEqual(d.info, hex('45000054'));
  });
});

describe('PPP frame header: encode', () => {
  test('default: FF 03 + 2-octet protocol', () => {
    assert.deepEqual(frame.encode(0x8021, hex('01')), hex('ff03802101'));
  });
  test('ACFC and PFC apply to IPv4', () => {
    assert.deepEqual(frame.encode(0x0021, hex('45'), { acfc: true, pfc: true }), hex('2145'));
    assert.deepEqual(frame.encode(0x0021, hex('45'), { pfc: true }), hex('ff032145'));
  });
  test('PFC never shortens protocols >= 0x100', () => {
    assert.deepEqual(frame.encode(0x80fd, hex('01'), { acfc: true, pfc: true }), hex('80fd01'));
  });
  test('LCP frames are never compressed (RFC 1661 §6.5, §6.6)', () => {
    assert.deepEqual(frame.encode(0xc021, hex('09'), { acfc: true, pfc: true }), hex('ff03c02109'));
  });
  test('writeHeader frames in place into headroom', () => {
    const b = new Uint8Array(10);
    b.set(hex('4500'), 6);
    const s = frame.writeHeader(b, 6, 0x0021);
    assert.equal(s, 2);
    assert.deepEqual(b.subarray(s, 8), hex('ff0300214500'));
    throwsCode(() => frame.writeHeader(new Uint8Array(4), 1, 0x0021), 'PPP_ERR_NO_HEADROOM');
  });
  test('invalid protocol numbers are refused', () => {
    throwsCode(() => frame.encode(0x0020, new Uint8Array(0)), 'PPP_ERR_BAD_PROTOCOL'); // even low octet
    throwsCode(() => frame.encode(0x0121, new Uint8Array(0)), 'PPP_ERR_BAD_PROTOCOL'); // odd high octet
  });
});

describe('PPP frame header: malformed input gives typed errors', () => {
  test('truncated', () => {
    throwsCode(() => frame.decode(new Uint8Array(0)), 'PPP_ERR_TRUNCATED');
    throwsCode(() => frame.decode(hex('ff')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => frame.decode(hex('ff03')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => frame.decode(hex('ff03c0')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => frame.decode(hex('80')), 'PPP_ERR_TRUNCATED');
  });
  test('bad control field', () => {
    throwsCode(() => frame.decode(hex('ff05c021')), 'PPP_ERR_BAD_CONTROL');
  });
  test('protocol with even last octet', () => {
    throwsCode(() => frame.decode(hex('ff03c020')), 'PPP_ERR_BAD_PROTOCOL');
  });
  test('information field longer than the MRU', () => {
    const f = frame.encode(0x0021, new Uint8Array(1461));
    throwsCode(() => frame.decode(f, 1460), 'PPP_ERR_TOO_LONG');
    assert.equal(frame.decode(f, 1461).info.length, 1461);
  });
  test('bounds outside the buffer', () => {
    throwsCode(() => frame.decodeHeader(new Uint8Array(4), 2, 4, frame.newHeader()), 'PPP_ERR_TRUNCATED');
  });
});

describe('PPP frame header: properties', () => {
  const proto = fc.integer({ min: 0, max: 0xffff }).filter((p) => (p & 1) === 1 && (p & 0x100) === 0);
  test('round-trip for every valid protocol and compression', () => {
    fc.assert(
      fc.property(proto, fc.uint8Array({ maxLength: 64 }), fc.boolean(), fc.boolean(), (p, info, acfc, pfc) => {
        const enc = frame.encode(p, info, { acfc, pfc });
        assert.equal(enc.length, frame.encodingLength(p, info, { acfc, pfc }));
        const d = frame.decode(enc);
        assert.equal(d.protocol, p);
        assert.deepEqual(d.info, info);
      }),
    );
  });
  test('fuzz: decode throws nothing but CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), (b, mru) => {
        try {
          const d = frame.decode(b, mru);
          assert.ok(d.info.length <= b.length);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
