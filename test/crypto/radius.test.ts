import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decryptMppeKeyAttribute, encryptMppeKeyAttribute, hideUserPassword, revealUserPassword } from '../../src/crypto/radius.js';
import { CodecError } from '../../src/errors.js';
import { hex, loadVectors, toHex } from './vectors.js';

const V = loadVectors('radius-rfc2865-rfc2548.json').vectors as any[];
const isTyped = (e: unknown) => e instanceof CodecError && e.code.startsWith('RADIUS_ERR_');

test('RFC 2865 User-Password hiding vector, and back', () => {
  const v = V.find((x) => x.name === 'rfc2865-user-password');
  const ra = hex(v.inputs.request_authenticator);
  const hidden = hideUserPassword(v.inputs.password, v.inputs.secret, ra);
  assert.equal(toHex(hidden), v.outputs.user_password_attribute_value);
  assert.equal(Buffer.from(revealUserPassword(hidden, v.inputs.secret, ra)).toString(), v.inputs.password);
});

test('RFC 2548 MS-MPPE-Send-Key salt encryption vector, and back', () => {
  const v = V.find((x) => x.name === 'rfc2548-ms-mppe-send-key');
  const ra = hex(v.inputs.request_authenticator);
  const enc = encryptMppeKeyAttribute(hex(v.inputs.key), v.inputs.secret, ra, hex(v.inputs.salt));
  assert.equal(toHex(enc), v.outputs['attribute_value (salt|ciphertext)']);
  assert.equal(toHex(decryptMppeKeyAttribute(enc, v.inputs.secret, ra)), v.inputs.key);
});

test('round-trip with random passwords, keys, secrets', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 128 }).filter((p) => p[p.length - 1] !== 0), fc.string({ minLength: 1 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (pw, secret, ra) => {
      assert.deepEqual(revealUserPassword(hideUserPassword(pw, secret, ra), secret, ra), pw);
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.string({ minLength: 1 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(0x7fff), (key, secret, ra, s) => {
      const salt = Uint8Array.of(0x80 | (s >> 8), s & 0xff);
      assert.deepEqual(decryptMppeKeyAttribute(encryptMppeKeyAttribute(key, secret, ra, salt), secret, ra), key);
    }),
  );
});

test('bad sizes, salts and random attribute values give typed errors only', () => {
  const ra = new Uint8Array(16);
  assert.throws(() => hideUserPassword(new Uint8Array(129), 's', ra), isTyped);
  assert.throws(() => revealUserPassword(new Uint8Array(17), 's', ra), isTyped);
  assert.throws(() => encryptMppeKeyAttribute(new Uint8Array(16), 's', ra, Uint8Array.of(0x01, 0x02)), isTyped);
  assert.throws(() => decryptMppeKeyAttribute(new Uint8Array(17), 's', ra), isTyped);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 150 }), (b) => {
      for (const f of [revealUserPassword, decryptMppeKeyAttribute]) {
        try {
          f(b, 'secret', ra);
        } catch (e) {
          assert.ok(isTyped(e), String(e));
        }
      }
    }),
    { numRuns: 3000 },
  );
});
