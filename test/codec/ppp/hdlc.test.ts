import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import * as hdlc from '../../../src/codec/ppp/hdlc.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const isCodec = (code: string) => (e: unknown) => e instanceof CodecError && e.code === code;
// The real pppd LCP Configure-Request from test/fixtures/ppp (pptp-mschapv1-mppe128 #0).
const LCP_REQ = hex('ff03c021010100140206000000000506e07ad52907020802');

describe('RFC 1662 async HDLC framing', () => {
  test('FCS-16 check value (CRC-16/X-25 of "123456789" is 0x906E)', () => {
    assert.equal(~hdlc.fcs16(new TextEncoder().encode('123456789')) & 0xffff, 0x906e);
  });
  test('encode escapes flags, escapes and control characters; decode restores the frame', () => {
    const w = hdlc.encode(LCP_REQ);
    assert.equal(w[0], 0x7e);
    assert.equal(w[w.length - 1], 0x7e);
    assert.deepEqual(w.subarray(1, 5), hex('ff7d23c0'), 'FF, then 0x03 escaped as 7D 23');
    for (const b of w.subarray(1, -1)) assert.ok(b >= 0x20 && b !== 0x7e, 'no raw control octet or flag inside');
    assert.deepEqual(hdlc.decodeFrame(w.subarray(1, -1)), LCP_REQ);
    assert.equal(w.length, hdlc.encodingLength(LCP_REQ));
  });
  test('typed errors: truncated, bad FCS, trailing escape, too long', () => {
    assert.throws(() => hdlc.decodeFrame(hex('ff03')), isCodec('PPP_ERR_TRUNCATED'));
    const w = hdlc.encode(LCP_REQ).subarray(1, -1).slice();
    w[5] ^= 1;
    assert.throws(() => hdlc.decodeFrame(w), isCodec('PPP_ERR_BAD_FCS'));
    assert.throws(() => hdlc.decodeFrame(hex('ff03c0217d')), isCodec('PPP_ERR_BAD_ESCAPE'));
    assert.throws(() => hdlc.decodeFrame(hdlc.encode(new Uint8Array(100)).subarray(1, -1), 50), isCodec('PPP_ERR_TOO_LONG'));
  });
  test('round-trip', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (f) => {
      const w = hdlc.encode(f);
      assert.deepEqual(hdlc.decodeFrame(w.subarray(1, -1)), f);
    }));
  });
  test('stream decoder: split at every byte gives the same frames', () => {
    const frames = [LCP_REQ, hex('ff03c0210901000c7e7d0011'), hex('21450000')];
    const wire = Buffer.concat(frames.map((f) => hdlc.encode(f)));
    for (let cut = 0; cut <= wire.length; cut++) {
      const got: Uint8Array[] = [];
      const d = new hdlc.StreamDecoder((f) => got.push(f.slice()));
      d.push(wire.subarray(0, cut));
      d.push(wire.subarray(cut));
      assert.deepEqual(got, frames, `cut at ${cut}`);
    }
    const got: Uint8Array[] = [];
    const d = new hdlc.StreamDecoder((f) => got.push(f.slice()));
    for (const b of wire) d.push(Uint8Array.of(b));
    assert.deepEqual(got, frames);
  });
  test('stream decoder: bad frames are dropped and counted, good ones still pass', () => {
    const got: Uint8Array[] = [];
    const d = new hdlc.StreamDecoder((f) => got.push(f.slice()), 100);
    const bad = hdlc.encode(LCP_REQ).slice();
    bad[10] ^= 0x01;
    d.push(bad);
    d.push(hdlc.encode(new Uint8Array(500)));
    d.push(hdlc.encode(LCP_REQ));
    assert.deepEqual(got, [LCP_REQ]);
    assert.equal(d.errors.PPP_ERR_BAD_FCS, 1);
    assert.equal(d.errors.PPP_ERR_TOO_LONG, 1);
  });
  test('fuzz: decodeFrame throws nothing but CodecError; the stream decoder never throws', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      try {
        hdlc.decodeFrame(b, 30);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
      new hdlc.StreamDecoder(() => {}, 30).push(b);
    }), { numRuns: 5000 });
  });
});
