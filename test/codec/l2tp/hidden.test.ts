import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import { hideAvpValue, unhideAvpValue, challengeResponse, verifyChallengeResponse } from '../../../src/codec/l2tp/index.js';
import { hex, throwsCode } from '../pptp/helpers.js';

const RV = hex('000102030405060708090a0b0c0d0e0f');

// Expected values computed independently with Python hashlib (md5 chain of RFC 2661 §4.3).
describe('Hidden AVPs (RFC 2661 §4.3)', () => {
  test('vector: Assigned Tunnel ID 0x1234 hidden with secret "ia-secret" (one short block)', () => {
    const hidden = hideAvpValue(9, hex('1234'), 'ia-secret', RV);
    assert.deepEqual(hidden, hex('c6ea6ac4'));
    assert.deepEqual(unhideAvpValue(9, hidden, 'ia-secret', RV), hex('1234'));
  });
  test('vector: 34-octet Proxy Authen Name with 4 octets of padding (three chained blocks)', () => {
    const name = new TextEncoder().encode('a-fairly-long-user-name-for-hiding');
    const hidden = hideAvpValue(30, name, Buffer.from('ia-secret'), RV, new Uint8Array(4).fill(0xaa));
    assert.deepEqual(hidden, hex('6c952a66f55471b6710a3819e59944f22babe823130b2c29c1b0c44c5b31df4266760956e2ec3d9f'));
    assert.deepEqual(unhideAvpValue(30, hidden, 'ia-secret', RV), name);
  });
  test('the attribute type is part of the key: same value, other type, other ciphertext', () => {
    assert.notDeepEqual(hideAvpValue(14, hex('1234'), 'ia-secret', RV), hex('c6ea6ac4'));
  });
  test('a lying original length never reads past the decrypted data', () => {
    // The first block's keystream does not depend on the ciphertext, so XORing the
    // ciphertext XORs the recovered length: forge lengths around the 2 octets present.
    const base = hideAvpValue(9, new Uint8Array(0), 'ia-secret', RV, hex('1234')); // length 0, 2 pad octets
    const forge = (claimed: number): Uint8Array => {
      const f = Uint8Array.from(base);
      f[0] ^= claimed >> 8;
      f[1] ^= claimed & 0xff;
      return f;
    };
    assert.deepEqual(unhideAvpValue(9, forge(2), 'ia-secret', RV), hex('1234'));
    throwsCode(() => unhideAvpValue(9, forge(3), 'ia-secret', RV), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
    throwsCode(() => unhideAvpValue(9, forge(200), 'ia-secret', RV), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
    throwsCode(() => unhideAvpValue(9, forge(0xffff), 'ia-secret', RV), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
  });
  test('a hidden value shorter than the 2-octet length field', () => {
    throwsCode(() => unhideAvpValue(9, hex('aa'), 'ia-secret', RV), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
    throwsCode(() => unhideAvpValue(9, hex(''), 'ia-secret', RV), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
  });
  test('the wrong secret is detected through the length for this vector', () => {
    throwsCode(() => unhideAvpValue(9, hex('c6ea6ac4'), 'other-secret', RV), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
  });
  test('property: hide then unhide returns the value, for any type, secret, RV, padding', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 32 }), fc.uint8Array({ maxLength: 20 }), (type, value, secret, rv, pad) => {
      const h = hideAvpValue(type, value, secret, rv, pad);
      assert.equal(h.length, 2 + value.length + pad.length);
      assert.deepEqual(unhideAvpValue(type, h, secret, rv), value);
    }), { numRuns: 1000 });
  });
  test('fuzz: unhide of random octets only ever throws CodecError and never returns more than it decrypted', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 16 }), (b, rv) => {
      try {
        const v = unhideAvpValue(1, b, 's', rv);
        assert.ok(v.length <= b.length - 2);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }), { numRuns: 3000 });
  });
});

describe('Tunnel authentication challenge response (RFC 2661 §5.1.1)', () => {
  const challenge = hex('0102030405060708090a0b0c0d0e0f10');
  test('vectors: MD5(type + secret + challenge) for SCCRP (2) and SCCCN (3)', () => {
    assert.deepEqual(challengeResponse(2, 'ia-secret', challenge), hex('156df8965a0c71a435f9400b56bfb77d'));
    assert.deepEqual(challengeResponse(3, Buffer.from('ia-secret'), challenge), hex('62305bcd78597b74822523b6ff0e75c5'));
  });
  test('verify accepts the right response and rejects others', () => {
    assert.equal(verifyChallengeResponse(2, 'ia-secret', challenge, hex('156df8965a0c71a435f9400b56bfb77d')), true);
    assert.equal(verifyChallengeResponse(3, 'ia-secret', challenge, hex('156df8965a0c71a435f9400b56bfb77d')), false);
    assert.equal(verifyChallengeResponse(2, 'wrong', challenge, hex('156df8965a0c71a435f9400b56bfb77d')), false);
    assert.equal(verifyChallengeResponse(2, 'ia-secret', challenge, hex('156df8')), false);
  });
});
