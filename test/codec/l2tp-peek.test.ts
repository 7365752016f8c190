import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../src/errors.js';
import { createL2tpPeek, decode, encodeDataHeaderInto, peekInto, L2tpPeekStatus } from '../../src/codec/l2tp-peek.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('vector: minimal data header (RFC 2661 §3.1), as the kernel and xl2tpd send it', () => {
  // flags 0x0002, tunnel 0x1234, session 0x5678, then PPP FF 03 00 21 ...
  const m = hex('0002 1234 5678 ff03 0021 45');
  const p = decode(m);
  assert.deepEqual(p, { isControl: false, tunnelId: 0x1234, sessionId: 0x5678, hasSequence: false, ns: 0, nr: 0, payloadOffset: 6, payloadLength: 5 });
});

test('vector: data header with L, S and O (offset pad skipped, Length bounds the payload)', () => {
  // T=0 L=1 S=1 O=1: 0x4a02; Length 18; tunnel 1, session 2; Ns 3, Nr 4; Offset Size 2 + 2 pad; payload 2; then 3 link padding bytes.
  const m = hex('4a02 0012 0001 0002 0003 0004 0002 0000 ff03 aaaaaa');
  const p = decode(m);
  assert.equal(p.tunnelId, 1);
  assert.equal(p.sessionId, 2);
  assert.equal(p.hasSequence, true);
  assert.equal(p.ns, 3);
  assert.equal(p.nr, 4);
  assert.equal(p.payloadOffset, 16);
  assert.equal(p.payloadLength, 2);
});

test('vector: a control message (T, L, S) is recognised; one without L/S is refused', () => {
  // SCCRQ-sized header: 0xc802, Length 12, tunnel 0, session 0, Ns 0, Nr 0.
  const p = decode(hex('c802 000c 0000 0000 0000 0000'));
  assert.equal(p.isControl, true);
  assert.equal(p.payloadLength, 0);
  assert.throws(() => decode(hex('8002 0000 0000')), (e: unknown) => e instanceof CodecError && e.code === 'L2TP_ERR_CONTROL_FLAGS');
});

test('round trip: encodeDataHeaderInto then peek gives the IDs back', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 64 }), (t, s, payload) => {
    const b = new Uint8Array(6 + payload.length);
    assert.equal(encodeDataHeaderInto(b, 0, t, s), 6);
    b.set(payload, 6);
    const p = decode(b);
    assert.equal(p.tunnelId, t);
    assert.equal(p.sessionId, s);
    assert.equal(p.payloadLength, payload.length);
  }));
  assert.throws(() => encodeDataHeaderInto(new Uint8Array(5), 0, 1, 1), (e: unknown) => e instanceof CodecError && e.code === 'L2TP_ERR_ENCODE');
  assert.throws(() => encodeDataHeaderInto(new Uint8Array(6), 0, 0x10000, 1), (e: unknown) => e instanceof CodecError);
});

test('truncated at every length and oversized Length -> typed errors', () => {
  const full = hex('4a02 0012 0001 0002 0003 0004 0002 0000 ff03');
  for (let n = 0; n < full.length; n++) {
    assert.throws(() => decode(full.subarray(0, n)), (e: unknown) => e instanceof CodecError && /^L2TP_ERR_(TRUNCATED|LENGTH)$/.test(e.code), `length ${n}`);
  }
  // Length says 0x40 but the datagram is shorter.
  assert.throws(() => decode(hex('4002 0040 0001 0002')), (e: unknown) => e instanceof CodecError && e.code === 'L2TP_ERR_LENGTH');
  assert.throws(() => decode(hex('0003 0001 0002')), (e: unknown) => e instanceof CodecError && e.code === 'L2TP_ERR_VERSION');
  assert.equal(peekInto(new Uint8Array(4), 0, 4, createL2tpPeek()), L2tpPeekStatus.Truncated);
});

test('fuzz: any bytes either peek within bounds or give a typed CodecError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
    try {
      const p = decode(b);
      assert.ok(p.payloadOffset >= 6 && p.payloadOffset + p.payloadLength <= b.length);
    } catch (e) {
      assert.ok(e instanceof CodecError, String(e));
      assert.match(e.code, /^L2TP_ERR_/);
    }
  }), { numRuns: 5000 });
});
