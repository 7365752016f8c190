import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chapMd5Response } from '../../src/crypto/chap.js';
import { challengeResponse, lmPasswordHash, ntPasswordHash, ntPasswordHashHash } from '../../src/crypto/ntlm.js';
import {
  mschap1LmResponse,
  mschap1NtResponse,
  mschap2AuthenticatorResponse,
  mschap2ChallengeHash,
  mschap2CheckAuthenticatorResponse,
  mschap2HashUserName,
  mschap2NtResponse,
} from '../../src/crypto/mschap.js';
import { CodecError } from '../../src/errors.js';
import { hex, loadVectors, toHex } from './vectors.js';

test('CHAP-MD5: RFC 1994 vectors', () => {
  const v = loadVectors('chap-md5-rfc1994.json');
  assert.equal(v.vectors.length, 3);
  for (const vec of v.vectors) {
    const r = chapMd5Response(vec.inputs.identifier, vec.inputs.secret, hex(vec.inputs.challenge));
    assert.equal(toHex(r), vec.outputs.response, vec.name);
    assert.equal(toHex(chapMd5Response(vec.inputs.identifier, Buffer.from(vec.inputs.secret), hex(vec.inputs.challenge))), vec.outputs.response);
  }
});

test('MS-CHAPv1: RFC 2433 B.2 hashes and responses', () => {
  const v = loadVectors('mschapv1-rfc2433.json').vectors[0];
  const ch = hex(v.inputs.challenge);
  assert.equal(toHex(Buffer.from(v.inputs.password, 'utf16le')), v.inputs.password_unicode_hex);
  assert.equal(toHex(ntPasswordHash(v.inputs.password)), v.outputs.nt_password_hash);
  assert.equal(toHex(mschap1NtResponse(ch, v.inputs.password)), v.outputs.nt_challenge_response);
  assert.equal(toHex(lmPasswordHash(v.inputs.password)), v.outputs.lm_password_hash);
  assert.equal(toHex(mschap1LmResponse(ch, v.inputs.password)), v.outputs.lm_challenge_response);
  assert.equal(toHex(challengeResponse(ch, ntPasswordHash(v.inputs.password))), v.outputs.nt_challenge_response);
});

test('MS-CHAPv2: RFC 2759 9.2 every intermediate and the authenticator response', () => {
  const v = loadVectors('mschapv2-rfc2759.json').vectors[0];
  const { username, password } = v.inputs;
  const ac = hex(v.inputs.authenticator_challenge);
  const pc = hex(v.inputs.peer_challenge);
  assert.equal(toHex(mschap2ChallengeHash(pc, ac, username)), v.outputs.challenge);
  assert.equal(toHex(ntPasswordHash(password)), v.outputs.password_hash);
  assert.equal(toHex(ntPasswordHashHash(ntPasswordHash(password))), v.outputs.password_hash_hash);
  const nt = mschap2NtResponse(ac, pc, username, password);
  assert.equal(toHex(nt), v.outputs.nt_response);
  assert.equal(mschap2AuthenticatorResponse(password, nt, pc, ac, username), v.outputs.authenticator_response);
  assert.equal(mschap2CheckAuthenticatorResponse(password, nt, pc, ac, username, v.outputs.authenticator_response), true);
  assert.equal(mschap2CheckAuthenticatorResponse(password, nt, pc, ac, username, v.outputs.authenticator_response.toLowerCase().replace('s=', 'S=')), true);
});

test('MS-CHAPv2: a domain prefix does not change the hash; a tampered S= string fails', () => {
  const v = loadVectors('mschapv2-rfc2759.json').vectors[0];
  const ac = hex(v.inputs.authenticator_challenge);
  const pc = hex(v.inputs.peer_challenge);
  assert.equal(mschap2HashUserName('CORP\\User'), 'User');
  assert.equal(toHex(mschap2NtResponse(ac, pc, 'CORP\\User', v.inputs.password)), v.outputs.nt_response);
  const nt = hex(v.outputs.nt_response);
  const good: string = v.outputs.authenticator_response;
  for (const bad of [good.slice(0, 41) + (good[41] === '0' ? '1' : '0'), 'S=', '', 'X' + good.slice(1), good.slice(0, 30), 'S=' + 'zz'.repeat(20)]) {
    assert.equal(mschap2CheckAuthenticatorResponse(v.inputs.password, nt, pc, ac, 'User', bad), false, bad);
  }
  assert.equal(mschap2CheckAuthenticatorResponse('wrong', nt, pc, ac, 'User', good), false);
});

test('MS-CHAP: bad input sizes are typed errors; random strings never throw from the checker', () => {
  assert.throws(() => challengeResponse(new Uint8Array(7), new Uint8Array(16)), (e: unknown) => e instanceof CodecError && e.code === 'CRYPTO_ERR_BAD_LENGTH');
  assert.throws(() => challengeResponse(new Uint8Array(8), new Uint8Array(15)), (e: unknown) => e instanceof CodecError);
  assert.throws(() => mschap2ChallengeHash(new Uint8Array(15), new Uint8Array(16), 'u'), (e: unknown) => e instanceof CodecError);
  assert.throws(() => ntPasswordHash('x'.repeat(257)), (e: unknown) => e instanceof CodecError);
  const z16 = new Uint8Array(16);
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      assert.equal(mschap2CheckAuthenticatorResponse('pw', new Uint8Array(24), z16, z16, 'u', s), false);
    }),
  );
});
