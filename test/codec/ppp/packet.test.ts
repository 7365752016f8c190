import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import * as packet from '../../../src/codec/ppp/packet.js';
import * as options from '../../../src/codec/ppp/options.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
function throwsCode(fn: () => unknown, code: string) {
  assert.throws(fn, (e: unknown) => e instanceof CodecError && e.code === code);
}

describe('control packet (RFC 1661 §5)', () => {
  test('vector: pppd LCP Configure-Request', () => {
    const p = packet.decode(hex('010100140206000000000506e07ad52907020802'));
    assert.equal(p.code, 1);
    assert.equal(p.id, 1);
    assert.equal(p.data.length, 16);
    const opts = options.decode(p.data);
    assert.deepEqual(opts.map((o) => o.type), [2, 5, 7, 8]);
    assert.deepEqual(opts[1].data, hex('e07ad529'));
    assert.deepEqual(packet.encode(p), hex('010100140206000000000506e07ad52907020802'));
  });
  test('padding beyond Length is ignored', () => {
    const p = packet.decode(hex('0a0000080000000199999999'));
    assert.equal(p.code, 10);
    assert.deepEqual(p.data, hex('00000001'));
  });
  test('truncated and malformed give typed errors', () => {
    throwsCode(() => packet.decode(hex('0101')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => packet.decode(hex('01010008000000')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => packet.decode(hex('01010003')), 'PPP_ERR_BAD_LENGTH');
  });
  test('oversized encode gives a typed error', () => {
    throwsCode(() => packet.encode({ code: 1, id: 1, data: new Uint8Array(65532) }), 'PPP_ERR_OVERSIZED');
    throwsCode(() => packet.encodeInto({ code: 1, id: 1, data: new Uint8Array(4) }, new Uint8Array(6)), 'PPP_ERR_NO_SPACE');
  });
  test('round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (code, id, data) => {
        const enc = packet.encode({ code, id, data });
        assert.equal(enc.length, packet.encodingLength({ code, id, data }));
        const d = packet.decode(enc);
        assert.equal(d.code, code);
        assert.equal(d.id, id);
        assert.deepEqual(d.data, data);
      }),
    );
  });
  test('fuzz: decode throws nothing but CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (b) => {
        try {
          const p = packet.decode(b);
          assert.ok(p.data.length + 4 <= b.length);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('option list (RFC 1661 §6)', () => {
  test('round-trip', () => {
    const opt = fc.record({ type: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 20 }) });
    fc.assert(
      fc.property(fc.array(opt, { maxLength: 8 }), (list) => {
        const enc = options.encode(list);
        assert.equal(enc.length, options.encodingLength(list));
        const d = options.decode(enc);
        assert.deepEqual(d.map((o) => [o.type, [...o.data]]), list.map((o) => [o.type, [...o.data]]));
      }),
    );
  });
  test('malformed lengths give typed errors', () => {
    throwsCode(() => options.decode(hex('01')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => options.decode(hex('0101')), 'PPP_ERR_OPTION_LENGTH');
    throwsCode(() => options.decode(hex('0104ff')), 'PPP_ERR_TRUNCATED');
    throwsCode(() => options.encode([{ type: 1, data: new Uint8Array(254) }]), 'PPP_ERR_OVERSIZED');
  });
  test('fuzz: decode throws nothing but CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (b) => {
        try {
          options.decode(b);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
