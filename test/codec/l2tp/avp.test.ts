import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import {
  ATTRIBUTE_RULES,
  RULE_BY_KEY,
  RULE_BY_TYPE,
  L2tpAttr,
  decodeAvpValue,
  decodeRawAvps,
  encodeAvpValue,
  encodeRawAvp,
  type RawAvp,
} from '../../../src/codec/l2tp/index.js';
import { hex, throwsCode } from '../pptp/helpers.js';
import { SAMPLE_VALUES } from './samples.js';

describe('L2TP AVP tables', () => {
  test('all 39 IETF attributes of RFC 2661 §4.4 (0-39 except reserved 20) have a rule', () => {
    assert.equal(ATTRIBUTE_RULES.length, 39);
    for (let t = 0; t <= 39; t++) assert.equal(RULE_BY_TYPE[t] === undefined, t === 20, `type ${t}`);
    assert.equal(RULE_BY_TYPE[40], undefined);
  });
  test('M bits and hiding rules as the RFC states for some well-known AVPs', () => {
    assert.deepEqual([RULE_BY_KEY.hostName.mandatory, RULE_BY_KEY.hostName.hideable], [true, false]);
    assert.deepEqual([RULE_BY_KEY.vendorName.mandatory, RULE_BY_KEY.vendorName.hideable], [false, true]);
    assert.deepEqual([RULE_BY_KEY.tieBreaker.mandatory, RULE_BY_KEY.tieBreaker.hideable], [false, false]);
    assert.deepEqual([RULE_BY_KEY.rxConnectSpeed.mandatory, RULE_BY_KEY.rxConnectSpeed.hideable], [false, true]);
    assert.deepEqual([RULE_BY_KEY.randomVector.mandatory, RULE_BY_KEY.randomVector.hideable], [true, false]);
    assert.equal(RULE_BY_KEY.challengeResponse.minLength, 16);
    assert.equal(RULE_BY_KEY.callErrors.minLength, 26);
    assert.equal(L2tpAttr.SequencingRequired, 39);
  });
});

describe('L2TP raw AVPs (RFC 2661 §4.1)', () => {
  test('Message Type AVP vector: M set, Length 8', () => {
    const [a] = decodeRawAvps(hex('8008 0000 0000 0001'));
    assert.equal(a.mandatory, true);
    assert.equal(a.hidden, false);
    assert.equal(a.vendorId, 0);
    assert.equal(a.attributeType, 0);
    assert.deepEqual(a.value, hex('0001'));
  });
  test('H bit, reserved bits, vendor ID, 10-bit length', () => {
    const [a, b] = decodeRawAvps(hex('7c06 0137 0005' + '0006 0000 0027'));
    assert.equal(a.mandatory, false);
    assert.equal(a.hidden, true);
    assert.equal(a.reserved, 0xf);
    assert.equal(a.vendorId, 0x137);
    assert.equal(a.attributeType, 5);
    assert.equal(a.value.length, 0);
    assert.equal(b.attributeType, 39);
  });
  test('a 1023-octet AVP round-trips, 1024 does not encode', () => {
    const avp: RawAvp = { mandatory: false, hidden: false, reserved: 0, vendorId: 9, attributeType: 1, value: new Uint8Array(1017).fill(7) };
    const buf = new Uint8Array(1023);
    assert.equal(encodeRawAvp(avp, buf, 0), 1023);
    assert.equal(buf[0] & 3, 3);
    assert.equal(buf[1], 0xff);
    assert.deepEqual(decodeRawAvps(buf), [avp]);
    throwsCode(() => encodeRawAvp({ ...avp, value: new Uint8Array(1018) }, new Uint8Array(2000), 0), 'L2TP_ERR_AVP_TOO_LONG');
  });
  test('Length below 6, or past the end, or a partial header, is a typed error', () => {
    throwsCode(() => decodeRawAvps(hex('8005 0000 0000')), 'L2TP_ERR_AVP_LENGTH');
    throwsCode(() => decodeRawAvps(hex('8009 0000 0000 0001')), 'L2TP_ERR_AVP_TRUNCATED');
    throwsCode(() => decodeRawAvps(hex('8008 0000 0000 0001 80')), 'L2TP_ERR_AVP_TRUNCATED');
  });
});

describe('L2TP typed AVP values (RFC 2661 §4.4)', () => {
  test('every attribute: sample value encodes to the RFC layout and decodes back', () => {
    for (const rule of ATTRIBUTE_RULES) {
      const sample = SAMPLE_VALUES[rule.key];
      assert.ok(sample, `sample for ${rule.key}`);
      const [value, wire] = sample;
      const enc = encodeAvpValue(rule, value);
      assert.deepEqual(enc, hex(wire), rule.key);
      assert.deepEqual(decodeAvpValue(rule, enc), value, rule.key);
    }
  });
  test('Result Code: code only (Length 8), with Error Code (10), with message', () => {
    const rule = RULE_BY_KEY.resultCode;
    assert.deepEqual(decodeAvpValue(rule, hex('0001')), { resultCode: 1 });
    assert.deepEqual(decodeAvpValue(rule, hex('0002 0008')), { resultCode: 2, errorCode: 8 });
    assert.deepEqual(encodeAvpValue(rule, { resultCode: 1 }), hex('0001'));
    throwsCode(() => decodeAvpValue(rule, hex('000200')), 'L2TP_ERR_AVP_VALUE_LENGTH');
    throwsCode(() => encodeAvpValue(rule, { resultCode: 1, errorMessage: 'x' }), 'L2TP_ERR_ENCODE');
  });
  test('wrong lengths of fixed-size values are L2TP_ERR_AVP_VALUE_LENGTH', () => {
    for (const rule of ATTRIBUTE_RULES) {
      if (rule.minLength === rule.maxLength) {
        throwsCode(() => decodeAvpValue(rule, new Uint8Array(rule.minLength + 1)), 'L2TP_ERR_AVP_VALUE_LENGTH');
        if (rule.minLength > 0) throwsCode(() => decodeAvpValue(rule, new Uint8Array(rule.minLength - 1)), 'L2TP_ERR_AVP_VALUE_LENGTH');
      }
    }
    throwsCode(() => decodeAvpValue(RULE_BY_KEY.hostName, new Uint8Array(0)), 'L2TP_ERR_AVP_VALUE_LENGTH');
    throwsCode(() => decodeAvpValue(RULE_BY_KEY.challenge, new Uint8Array(0)), 'L2TP_ERR_AVP_VALUE_LENGTH');
    throwsCode(() => encodeAvpValue(RULE_BY_KEY.challengeResponse, new Uint8Array(15)), 'L2TP_ERR_AVP_VALUE_LENGTH');
    throwsCode(() => encodeAvpValue(RULE_BY_KEY.hostName, ''), 'L2TP_ERR_AVP_VALUE_LENGTH');
  });
  test('encode rejects values of the wrong type or range', () => {
    throwsCode(() => encodeAvpValue(RULE_BY_KEY.assignedTunnelId, 70000), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeAvpValue(RULE_BY_KEY.hostName, 5), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeAvpValue(RULE_BY_KEY.challenge, 'abc'), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeAvpValue(RULE_BY_KEY.sequencingRequired, false), 'L2TP_ERR_ENCODE');
  });
  test('fuzz: decodeRawAvps and decodeAvpValue of any rule only ever throw CodecError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: ATTRIBUTE_RULES.length - 1 }), (b, i) => {
      for (const f of [() => decodeRawAvps(b), () => decodeAvpValue(ATTRIBUTE_RULES[i], b)]) {
        try {
          f();
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }
    }), { numRuns: 5000 });
  });
});
