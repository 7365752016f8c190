import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import { gre } from '../../../src/codec/pptp/index.js';
import { cat, hex, throwsCode } from './helpers.js';

const PPP_LCP = hex('ff03 c021 0101 0004'); // 8-octet payload

describe('Enhanced GRE: peer vectors (interop README)', () => {
  test('0x3001 K+S data packet', () => {
    const b = hex('3001 880b 0008 0000 00000000').subarray(0);
    const pkt = cat(b, PPP_LCP);
    const d = gre.decode(pkt);
    assert.equal(d.headerLength, 12);
    assert.equal(d.payloadLength, 8);
    assert.equal(d.callId, 0);
    assert.equal(d.hasSequence, true);
    assert.equal(d.sequence, 0);
    assert.equal(d.hasAck, false);
    assert.deepEqual(d.payload, PPP_LCP);
    assert.deepEqual(gre.encode({ callId: 0, sequence: 0 }, PPP_LCP), new Uint8Array(pkt));
  });
  test('0x3081 K+S+A data with piggy-backed ack', () => {
    const pkt = cat(hex('3081 880b 0008 8001 00000005 00000004'), PPP_LCP);
    const d = gre.decode(pkt);
    assert.equal(d.headerLength, 16);
    assert.equal(d.callId, 0x8001);
    assert.equal(d.sequence, 5);
    assert.equal(d.ack, 4);
    assert.deepEqual(d.payload, PPP_LCP);
    assert.deepEqual(gre.encode({ callId: 0x8001, sequence: 5, ack: 4 }, PPP_LCP), new Uint8Array(pkt));
  });
  test('0x2081 K+A ack-only packet, payload length 0', () => {
    const pkt = hex('2081 880b 0000 0001 ffffffff');
    const d = gre.decode(pkt);
    assert.equal(d.headerLength, 12);
    assert.equal(d.hasSequence, false);
    assert.equal(d.hasAck, true);
    assert.equal(d.ack, 0xffffffff);
    assert.equal(d.payload.length, 0);
    assert.deepEqual(gre.encode({ callId: 1, ack: 0xffffffff }), pkt);
  });
  test('packet taken from a raw socket: skip the IPv4 header first', () => {
    const ip = hex('4500 0030 0000 4000 402f 0000 c6120014 c612000a'); // IHL 5, proto 47, total 48
    const pkt = cat(ip, hex('3001 880b 0008 0000 00000001'), PPP_LCP);
    const ihl = gre.ipv4HeaderLength(pkt);
    assert.equal(ihl, 20);
    const h = gre.createGreHeader();
    assert.equal(gre.decodeInto(pkt, ihl, pkt.length - ihl, h), 12);
    assert.equal(h.sequence, 1);
  });
  test('IPv4 header with options (IHL 6)', () => {
    const ip = hex('4600 0018 0000 0000 402f 0000 c6120014 c612000a 01010100');
    assert.equal(gre.ipv4HeaderLength(ip), 24);
  });
});

describe('Enhanced GRE: hot path', () => {
  test('decodeInto reuses the caller object and honours off/len', () => {
    const buf = new Uint8Array(64).fill(0xaa);
    const n = gre.encodeHeaderInto(buf, 5, { callId: 0x1234, payloadLength: 3, sequence: 9, ack: 8 });
    assert.equal(n, 16);
    buf.set([1, 2, 3], 21);
    const h = gre.createGreHeader();
    assert.equal(gre.decodeInto(buf, 5, 19, h), 16);
    assert.deepEqual(h, { callId: 0x1234, payloadLength: 3, hasSequence: true, sequence: 9, hasAck: true, ack: 8, headerLength: 16 });
    // len excludes the payload's last octet: the payload no longer fits
    assert.equal(gre.tryDecodeInto(buf, 5, 18, h), gre.GreStatus.Length);
  });
  test('header lengths 8, 12, 12, 16', () => {
    const buf = new Uint8Array(16);
    assert.equal(gre.encodeHeaderInto(buf, 0, { callId: 1, payloadLength: 0 }), 8);
    assert.equal(gre.encodeHeaderInto(buf, 0, { callId: 1, payloadLength: 0, sequence: 1 }), 12);
    assert.equal(gre.encodeHeaderInto(buf, 0, { callId: 1, payloadLength: 0, ack: 1 }), 12);
    assert.equal(gre.encodeHeaderInto(buf, 0, { callId: 1, payloadLength: 0, sequence: 1, ack: 1 }), 16);
  });
  test('a payload shorter than the rest of the packet (link padding) is allowed', () => {
    const pkt = cat(hex('3001 880b 0002 0000 00000000'), hex('c021 0000'));
    assert.deepEqual(gre.decode(pkt).payload, hex('c021'));
  });
});

describe('Enhanced GRE: malformed input gives distinct typed errors', () => {
  const good = () => cat(hex('3081 880b 0008 0000 00000005 00000004'), PPP_LCP);
  test('version 0 (plain GRE) and others', () => {
    for (const v of [0, 2, 7]) {
      const b = good();
      b[1] = (b[1] & 0xf8) | v;
      throwsCode(() => gre.decode(b), 'PPTP_ERR_GRE_VERSION');
    }
  });
  test('protocol other than 0x880B', () => {
    const b = good();
    b[3] = 0x0a;
    throwsCode(() => gre.decode(b), 'PPTP_ERR_GRE_PROTOCOL');
  });
  test('flags: K clear, C/R/s/Recur/Flags set, payload without S', () => {
    for (const [i, v] of [[0, 0x1000 >> 8], [0, 0xb0], [0, 0x70], [0, 0x38], [0, 0x31], [1, 0x89]] as const) {
      const b = good();
      b[i] = v;
      throwsCode(() => gre.decode(b), 'PPTP_ERR_GRE_FLAGS');
    }
    throwsCode(() => gre.decode(hex('2001 880b 0004 0000 00000000')), 'PPTP_ERR_GRE_FLAGS');
  });
  test('payload length past the end', () => {
    const b = good();
    b[5] = 9;
    throwsCode(() => gre.decode(b), 'PPTP_ERR_GRE_LENGTH');
  });
  test('every truncation of the header is PPTP_ERR_GRE_TRUNCATED, of the payload PPTP_ERR_GRE_LENGTH', () => {
    const b = good();
    for (let n = 0; n < 16; n++) throwsCode(() => gre.decode(b.subarray(0, n)), 'PPTP_ERR_GRE_TRUNCATED');
    for (let n = 16; n < b.length; n++) throwsCode(() => gre.decode(b.subarray(0, n)), 'PPTP_ERR_GRE_LENGTH');
  });
  test('IPv4 helper errors', () => {
    throwsCode(() => gre.ipv4HeaderLength(new Uint8Array(19)), 'PPTP_ERR_IPV4_TRUNCATED');
    throwsCode(() => gre.ipv4HeaderLength(hex('6000 0000 0000 0000 0000 0000 0000 0000 0000 0000')), 'PPTP_ERR_IPV4_VERSION');
    throwsCode(() => gre.ipv4HeaderLength(hex('4400 0014 0000 0000 0000 0000 0000 0000 0000 0000')), 'PPTP_ERR_IPV4_HEADER_LENGTH');
    throwsCode(() => gre.ipv4HeaderLength(hex('4f00 0014 0000 0000 0000 0000 0000 0000 0000 0000')), 'PPTP_ERR_IPV4_TRUNCATED');
    throwsCode(() => gre.ipv4HeaderLength(hex('4500 0010 0000 0000 0000 0000 0000 0000 0000 0000')), 'PPTP_ERR_IPV4_HEADER_LENGTH');
  });
  test('encode refuses out-of-range values and payload without sequence', () => {
    const buf = new Uint8Array(16);
    throwsCode(() => gre.encodeHeaderInto(buf, 0, { callId: 0x10000, payloadLength: 0 }), 'PPTP_ERR_GRE_ENCODE');
    throwsCode(() => gre.encodeHeaderInto(buf, 0, { callId: 1, payloadLength: 4 }), 'PPTP_ERR_GRE_ENCODE');
    throwsCode(() => gre.encodeHeaderInto(buf, 0, { callId: 1, payloadLength: 0, sequence: -1 }), 'PPTP_ERR_GRE_ENCODE');
    throwsCode(() => gre.encodeHeaderInto(buf, 10, { callId: 1, payloadLength: 0, sequence: 1 }), 'PPTP_ERR_GRE_ENCODE');
  });
  test('greError maps every status to its code', () => {
    assert.equal(gre.greError(gre.GreStatus.Version).code, 'PPTP_ERR_GRE_VERSION');
    assert.equal(gre.greErrorCode(gre.GreStatus.Truncated), 'PPTP_ERR_GRE_TRUNCATED');
  });
});

describe('Enhanced GRE: properties', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  test('round trip of any header + payload', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), fc.option(u32, { nil: undefined }), fc.option(u32, { nil: undefined }), fc.uint8Array({ maxLength: 64 }), (callId, seq, ack, payload) => {
      if (seq === undefined) payload = new Uint8Array(0);
      const pkt = gre.encode({ callId, sequence: seq, ack }, payload);
      const d = gre.decode(pkt);
      assert.equal(d.callId, callId);
      assert.equal(d.hasSequence, seq !== undefined);
      assert.equal(d.hasAck, ack !== undefined);
      if (seq !== undefined) assert.equal(d.sequence, seq);
      if (ack !== undefined) assert.equal(d.ack, ack);
      assert.deepEqual(d.payload, payload);
    }), { numRuns: 2000 });
  });
  test('fuzz: decode and ipv4HeaderLength only ever throw CodecError; tryDecodeInto never throws', () => {
    const h = gre.createGreHeader();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(40), (b, off) => {
      for (const f of [() => gre.decode(b), () => gre.ipv4HeaderLength(b, off % (b.length + 1)), () => gre.decodeInto(b, off, b.length - off, h)]) {
        try {
          f();
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }
      const r = gre.tryDecodeInto(b, 0, b.length, h);
      assert.ok(r < 0 || (r >= 8 && r <= 16 && r + h.payloadLength <= b.length));
    }), { numRuns: 5000 });
  });
});
