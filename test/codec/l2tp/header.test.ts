import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import {
  createL2tpHeader,
  decodeHeader,
  decodeHeaderInto,
  encodeHeaderInto,
  headerLength,
  tryDecodeHeaderInto,
  L2tpHeaderStatus,
  l2tpHeaderErrorCode,
  type L2tpHeaderFields,
} from '../../../src/codec/l2tp/index.js';
import { cat, hex, throwsCode } from '../pptp/helpers.js';

const LCP = hex('ff03 c021 0101 0004');

describe('L2TP header: peer vectors (interop README)', () => {
  test('control flags 0xC802: T, L, S, Ver 2', () => {
    const b = hex('c802 000c 1234 0000 0003 0005'); // a ZLB
    const h = decodeHeader(b);
    assert.deepEqual(h, { isControl: true, hasLength: true, hasSequence: true, hasOffset: false, priority: false, length: 12, tunnelId: 0x1234, sessionId: 0, ns: 3, nr: 5, offsetSize: 0, headerLength: 12, payloadLength: 0 });
  });
  test('kernel data path flags 0x0002: no optional fields', () => {
    const b = cat(hex('0002 0007 0009'), LCP);
    const h = decodeHeader(b);
    assert.equal(h.isControl, false);
    assert.equal(h.hasLength, false);
    assert.equal(h.hasSequence, false);
    assert.equal(h.tunnelId, 7);
    assert.equal(h.sessionId, 9);
    assert.equal(h.headerLength, 6);
    assert.equal(h.payloadLength, 8);
    assert.equal(h.length, b.length);
    const out = new Uint8Array(6);
    assert.equal(encodeHeaderInto(out, 0, { tunnelId: 7, sessionId: 9 }), 6);
    assert.deepEqual(out, hex('0002 0007 0009'));
  });
  test('userspace data path flags 0x4002: Length present', () => {
    const b = cat(hex('4002 0010 0007 0009'), LCP);
    const h = decodeHeader(b);
    assert.equal(h.hasLength, true);
    assert.equal(h.length, 16);
    assert.equal(h.headerLength, 8);
    assert.equal(h.payloadLength, 8);
    const out = new Uint8Array(8);
    encodeHeaderInto(out, 0, { tunnelId: 7, sessionId: 9, length: 16 });
    assert.deepEqual(out, hex('4002 0010 0007 0009'));
  });
  test('data with S, O and P: Ns/Nr, offset pad skipped', () => {
    const b = cat(hex('4b02 0018 0001 0002 0010 0000 0002 eeee'), LCP); // L S O P, Length 24
    const h = decodeHeader(b);
    assert.equal(h.hasSequence, true);
    assert.equal(h.hasOffset, true);
    assert.equal(h.priority, true);
    assert.equal(h.ns, 16);
    assert.equal(h.offsetSize, 2);
    assert.equal(h.headerLength, 16);
    assert.equal(h.payloadLength, 8);
    assert.deepEqual(b.subarray(h.headerLength, h.headerLength + h.payloadLength), LCP);
  });
  test('reserved x bits are ignored on receipt (§3.1)', () => {
    const h = decodeHeader(cat(hex('30f2 0007 0009'), LCP));
    assert.equal(h.isControl, false);
    assert.equal(h.tunnelId, 7);
  });
  test('trailing octets beyond Length are not payload', () => {
    const b = cat(hex('4002 0010 0007 0009'), LCP, hex('0000'));
    assert.equal(decodeHeader(b).payloadLength, 8);
  });
});

describe('L2TP header: hot path', () => {
  test('decodeHeaderInto honours off/len and reuses the object', () => {
    const buf = new Uint8Array(40).fill(0x55);
    const n = encodeHeaderInto(buf, 3, { tunnelId: 1, sessionId: 2, ns: 3, nr: 4, length: 20 });
    assert.equal(n, 12);
    const h = createL2tpHeader();
    assert.equal(decodeHeaderInto(buf, 3, 20, h), 12);
    assert.equal(h.ns, 3);
    assert.equal(h.nr, 4);
    assert.equal(h.payloadLength, 8);
    assert.equal(tryDecodeHeaderInto(buf, 3, 19, h), L2tpHeaderStatus.Length);
  });
  test('header lengths', () => {
    assert.equal(headerLength({ tunnelId: 1, sessionId: 1 }), 6);
    assert.equal(headerLength({ tunnelId: 1, sessionId: 1, length: 8 }), 8);
    assert.equal(headerLength({ tunnelId: 1, sessionId: 1, length: 12, ns: 0, nr: 0 }), 12);
    assert.equal(headerLength({ tunnelId: 1, sessionId: 1, offsetSize: 4 }), 12);
  });
});

describe('L2TP header: malformed input', () => {
  test('Ver 1 (L2F) and Ver 3 have their own codes; others L2TP_ERR_VERSION', () => {
    throwsCode(() => decodeHeader(hex('0001')), 'L2TP_ERR_VERSION_L2F');
    throwsCode(() => decodeHeader(cat(hex('c801 000c 0000 0000 0000 0000'))), 'L2TP_ERR_VERSION_L2F');
    throwsCode(() => decodeHeader(hex('c803 000c 0000 0000 0000 0000')), 'L2TP_ERR_VERSION_L2TPV3');
    for (const v of [0, 4, 15]) throwsCode(() => decodeHeader(Uint8Array.of(0xc8, v, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0)), 'L2TP_ERR_VERSION');
  });
  test('control messages need L and S, and must not have O or P', () => {
    for (const flags of ['8802', 'c002', 'ca02', 'c902', '8002']) {
      throwsCode(() => decodeHeader(hex(`${flags} 000c 0000 0000 0000 0000 0000 0000`)), 'L2TP_ERR_CONTROL_FLAGS');
    }
  });
  test('Length beyond the datagram or below the header', () => {
    throwsCode(() => decodeHeader(hex('c802 000d 0000 0000 0000 0000')), 'L2TP_ERR_BAD_LENGTH');
    throwsCode(() => decodeHeader(hex('c802 000b 0000 0000 0000 0000')), 'L2TP_ERR_BAD_LENGTH');
    throwsCode(() => decodeHeader(hex('4002 0007 0000 0000')), 'L2TP_ERR_BAD_LENGTH');
  });
  test('offset pad past the end', () => {
    throwsCode(() => decodeHeader(hex('0202 0000 0000 0003 0000')), 'L2TP_ERR_BAD_OFFSET');
  });
  test('every truncation of a control header is a typed error', () => {
    const b = hex('c802 000c 1234 0000 0003 0005');
    for (let n = 0; n < b.length; n++) {
      assert.throws(() => decodeHeader(b.subarray(0, n)), (e: unknown) => e instanceof CodecError && (e.code === 'L2TP_ERR_TRUNCATED' || e.code === 'L2TP_ERR_BAD_LENGTH'));
    }
    throwsCode(() => decodeHeader(b.subarray(0, 5)), 'L2TP_ERR_TRUNCATED');
  });
  test('encode refuses a control header without Length/Ns/Nr, and out-of-range values', () => {
    const buf = new Uint8Array(32);
    throwsCode(() => encodeHeaderInto(buf, 0, { isControl: true, tunnelId: 1, sessionId: 0, ns: 0, nr: 0 }), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeHeaderInto(buf, 0, { isControl: true, tunnelId: 1, sessionId: 0, length: 12 }), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeHeaderInto(buf, 0, { tunnelId: 0x10000, sessionId: 0 }), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeHeaderInto(buf, 0, { tunnelId: 1, sessionId: 0, length: 4 }), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeHeaderInto(new Uint8Array(5), 0, { tunnelId: 1, sessionId: 0 }), 'L2TP_ERR_ENCODE');
  });
  test('status codes map to error codes', () => {
    assert.equal(l2tpHeaderErrorCode(L2tpHeaderStatus.VersionL2F), 'L2TP_ERR_VERSION_L2F');
  });
});

describe('L2TP header: properties', () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  test('round trip of any data header', () => {
    fc.assert(fc.property(u16, u16, fc.boolean(), opt(fc.tuple(u16, u16)), opt(fc.integer({ min: 0, max: 16 })), fc.boolean(), fc.uint8Array({ maxLength: 32 }), (tunnelId, sessionId, withLength, seq, offsetSize, priority, payload) => {
      const f: L2tpHeaderFields = { tunnelId, sessionId, priority, offsetSize, ns: seq?.[0], nr: seq?.[1] };
      if (withLength) {
        f.length = 0;
        f.length = headerLength(f) + payload.length;
      }
      const buf = new Uint8Array(headerLength(f) + payload.length);
      const n = encodeHeaderInto(buf, 0, f);
      buf.set(payload, n);
      const h = decodeHeader(buf);
      assert.equal(h.tunnelId, tunnelId);
      assert.equal(h.sessionId, sessionId);
      assert.equal(h.priority, priority);
      assert.equal(h.hasSequence, seq !== undefined);
      if (seq) assert.deepEqual([h.ns, h.nr], seq);
      assert.equal(h.offsetSize, offsetSize ?? 0);
      assert.deepEqual(buf.subarray(h.headerLength, h.headerLength + h.payloadLength), payload);
    }), { numRuns: 2000 });
  });
  test('fuzz: tryDecodeHeaderInto never throws and keeps bounds; decodeHeader only CodecError', () => {
    const h = createL2tpHeader();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const r = tryDecodeHeaderInto(b, 0, b.length, h);
      if (r >= 0) assert.ok(r === h.headerLength && h.headerLength + h.payloadLength <= b.length);
      try {
        decodeHeader(b);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }), { numRuns: 5000 });
  });
});
