import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeChap, decodePap, encodeChap, encodePap, encodingLengthChap, encodingLengthPap, type ChapPacket, type PapPacket } from '../../../../src/protocol/ppp/auth/packet.js';
import { CodecError } from '../../../../src/errors.js';
import { framePayload, loadPppFixture } from '../../../interop/ppp-fixture.js';
import { hex, toHex } from '../../../crypto/vectors.js';

const isTyped = (e: unknown) => e instanceof CodecError && /^(CHAP|PAP)_ERR_/.test(e.code);

test('CHAP: real pppd frames decode to the recorded fields and re-encode identically', () => {
  for (const name of ['pptp-mschapv2-mppe128', 'pptp-mschapv1-mppe128', 'pptp-chap', 'l2tp-mschapv2-mppe128']) {
    const fx = loadPppFixture(name);
    for (const f of fx.frames.filter((x) => x.proto === 0xc223)) {
      const payload = framePayload(f);
      const p = decodeChap(payload);
      assert.equal(toHex(encodeChap(p)), toHex(payload), `${name} frame ${f.i}`);
      assert.equal(encodingLengthChap(p), payload.length);
      if (p.code === 1) {
        assert.equal(toHex(p.value), fx.auth.challenge);
        assert.equal(Buffer.from(p.name).toString(), fx.auth.challengeName);
      } else if (p.code === 2) {
        assert.equal(Buffer.from(p.name).toString(), fx.auth.responseName);
        assert.equal(p.value.length, fx.auth.method === 'chap' ? 16 : 49);
      } else if (p.code === 3) {
        assert.equal(Buffer.from(p.message).toString(), fx.auth.successMessage);
      }
      assert.equal(p.id, Number(fx.auth.chapId));
    }
  }
});

test('PAP: real pppd Authenticate-Request / Ack decode and re-encode identically', () => {
  const fx = loadPppFixture('pptp-pap');
  const frames = fx.frames.filter((x) => x.proto === 0xc023);
  assert.ok(frames.length >= 2);
  for (const f of frames) {
    const payload = framePayload(f);
    const p = decodePap(payload);
    assert.equal(toHex(encodePap(p)), toHex(payload));
    assert.equal(encodingLengthPap(p), payload.length);
    if (p.code === 1) {
      assert.equal(Buffer.from(p.peerId).toString(), fx.auth.papUser);
      assert.equal(Buffer.from(p.password).toString(), fx.credentials.password);
    } else assert.equal(Buffer.from(p.message).toString(), fx.auth.papAckMessage);
  }
});

test('CHAP: padding after Length is ignored; every truncation is a typed error', () => {
  const resp = encodeChap({ code: 2, id: 9, value: hex('00112233'), name: Buffer.from('bob') });
  const padded = new Uint8Array(resp.length + 5);
  padded.set(resp);
  const p = decodeChap(padded) as ChapPacket & { code: 2 };
  assert.equal(toHex(p.value), '00112233');
  assert.equal(Buffer.from(p.name).toString(), 'bob');
  for (let n = 0; n < resp.length; n++) assert.throws(() => decodeChap(resp.subarray(0, n)), isTyped, `cut at ${n}`);
  assert.throws(() => decodeChap(hex('0201000300')), (e: unknown) => isTyped(e) && (e as CodecError).code === 'CHAP_ERR_BAD_LENGTH');
  assert.throws(() => decodeChap(hex('02010005' + '00')), (e: unknown) => (e as CodecError).code === 'CHAP_ERR_BAD_VALUE_SIZE');
  assert.throws(() => decodeChap(hex('02010006' + '05aa')), (e: unknown) => (e as CodecError).code === 'CHAP_ERR_BAD_VALUE_SIZE');
  assert.throws(() => decodeChap(hex('07010004')), (e: unknown) => (e as CodecError).code === 'CHAP_ERR_UNKNOWN_CODE');
  assert.throws(() => encodeChap({ code: 1, id: 1, value: new Uint8Array(256), name: new Uint8Array(0) }), isTyped);
  assert.throws(() => encodeChap({ code: 3, id: 1, message: new Uint8Array(70000) }), (e: unknown) => e instanceof CodecError);
});

test('PAP: every truncation is a typed error; Ack without Msg-Length is an empty message', () => {
  const req = encodePap({ code: 1, id: 3, peerId: Buffer.from('user'), password: Buffer.from('pw') });
  for (let n = 0; n < req.length; n++) assert.throws(() => decodePap(req.subarray(0, n)), isTyped, `cut at ${n}`);
  const ack = decodePap(hex('02070004')) as PapPacket & { code: 2 };
  assert.equal(ack.message.length, 0);
  assert.throws(() => decodePap(hex('0207000503')), (e: unknown) => (e as CodecError).code === 'PAP_ERR_BAD_LENGTH');
  assert.throws(() => decodePap(hex('09070004')), (e: unknown) => (e as CodecError).code === 'PAP_ERR_UNKNOWN_CODE');
  assert.throws(() => encodePap({ code: 1, id: 1, peerId: new Uint8Array(256), password: new Uint8Array(1) }), isTyped);
  assert.throws(() => encodePap({ code: 3, id: 1, message: new Uint8Array(256) }), isTyped);
});

test('round-trip: random CHAP and PAP packets', () => {
  const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
  const chap = fc.oneof(
    fc.record({ code: fc.constantFrom(1 as const, 2 as const), id: fc.nat(255), value: bytes(1, 255), name: bytes(0, 100) }),
    fc.record({ code: fc.constantFrom(3 as const, 4 as const), id: fc.nat(255), message: bytes(0, 300) }),
  );
  fc.assert(fc.property(chap, (p) => assert.deepEqual(decodeChap(encodeChap(p)), p)));
  const pap = fc.oneof(
    fc.record({ code: fc.constant(1 as const), id: fc.nat(255), peerId: bytes(0, 255), password: bytes(0, 255) }),
    fc.record({ code: fc.constantFrom(2 as const, 3 as const), id: fc.nat(255), message: bytes(0, 255) }),
  );
  fc.assert(fc.property(pap, (p) => assert.deepEqual(decodePap(encodePap(p)), p)));
});

test('fuzz: decoders throw nothing but their typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      for (const dec of [decodeChap, decodePap]) {
        try {
          dec(b);
        } catch (e) {
          assert.ok(isTyped(e), String(e));
        }
      }
    }),
    { numRuns: 5000 },
  );
});
