import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import {
  ATTRIBUTE_RULES,
  L2tpMessageError,
  L2tpMessageType as MT,
  decodeControlMessage,
  encodeControlMessage,
  encodeZlb,
  challengeResponse,
  isTunnelMessage,
  type L2tpAvps,
  type L2tpControl,
  type RawAvp,
} from '../../../src/codec/l2tp/index.js';
import { cat, hex, throwsCode } from '../pptp/helpers.js';
import { SAMPLE_VALUES } from './samples.js';

function control(m: ReturnType<typeof decodeControlMessage>): L2tpControl {
  assert.equal(m.zlb, false);
  return m as L2tpControl;
}

function messageError(fn: () => unknown, code: string): L2tpMessageError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof L2tpMessageError, `expected L2tpMessageError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

// xl2tpd 1.3.18 SCCRQ, hand-built from the interop README's description of it: Protocol
// Version 1.0, Framing caps async+sync, Bearer caps 0, Firmware 0x0690, Host Name, Vendor
// "xelerance.com", Assigned Tunnel ID, Receive Window Size 4; flags 0xC802.
const XL2TPD_SCCRQ = hex(
  'c802 0064 0000 0000 0000 0000' + // T L S Ver 2, Length 100, tunnel 0, session 0, Ns 0, Nr 0
    '8008 0000 0000 0001' + // Message Type SCCRQ
    '8008 0000 0002 0100' + // Protocol Version 1.0
    '800a 0000 0003 00000003' + // Framing Capabilities A+S
    '800a 0000 0004 00000000' + // Bearer Capabilities none
    '0008 0000 0006 0690' + // Firmware Revision (M clear)
    '8009 0000 0007 636c69' + // Host Name "cli"
    '0013 0000 0008 78656c6572616e63652e636f6d' + // Vendor Name "xelerance.com" (M clear)
    '8008 0000 0009 2b67' + // Assigned Tunnel ID
    '8008 0000 000a 0004', // Receive Window Size 4
);

// The AVPs of xl2tpd's ICCN (Framing Type sync, (Tx) Connect Speed 0, Rx Connect Speed 0 with
// M clear), hand-built in attribute order; real xl2tpd bytes (another order) are in fixtures.test.
const XL2TPD_ICCN = hex(
  'c802 0032 2b67 0001 0002 0003' +
    '8008 0000 0000 000c' +
    '800a 0000 0013 00000001' +
    '800a 0000 0018 00000000' +
    '000a 0000 0026 00000000',
);

describe('L2TP control messages: vectors', () => {
  test('xl2tpd SCCRQ decodes to typed AVPs and re-encodes byte for byte', () => {
    const m = control(decodeControlMessage(XL2TPD_SCCRQ));
    assert.equal(m.messageType, MT.SCCRQ);
    assert.equal(m.header.tunnelId, 0);
    assert.equal(m.header.ns, 0);
    assert.deepEqual(m.avps, {
      protocolVersion: { version: 1, revision: 0 },
      framingCapabilities: 3,
      bearerCapabilities: 0,
      firmwareRevision: 0x0690,
      hostName: 'cli',
      vendorName: 'xelerance.com',
      assignedTunnelId: 0x2b67,
      receiveWindowSize: 4,
    });
    assert.equal(m.rawAvps.length, 9);
    assert.equal(m.unknownAvps.length, 0);
    const again = encodeControlMessage({ tunnelId: 0, sessionId: 0, ns: 0, nr: 0, messageType: MT.SCCRQ, avps: m.avps });
    assert.deepEqual(again, XL2TPD_SCCRQ);
  });
  test('ICCN with the non-mandatory Rx Connect Speed', () => {
    const m = control(decodeControlMessage(XL2TPD_ICCN));
    assert.equal(m.messageType, MT.ICCN);
    assert.equal(m.header.sessionId, 1);
    assert.deepEqual(m.avps, { framingType: 1, txConnectSpeed: 0, rxConnectSpeed: 0 });
    assert.equal(m.rawAvps[3].mandatory, false);
    assert.deepEqual(encodeControlMessage({ tunnelId: 0x2b67, sessionId: 1, ns: 2, nr: 3, messageType: MT.ICCN, avps: m.avps }), XL2TPD_ICCN);
  });
  test('StopCCN with Result Code and Assigned Tunnel ID (layout of §4.4.2)', () => {
    const b = encodeControlMessage({ tunnelId: 9, sessionId: 0, ns: 4, nr: 2, messageType: MT.StopCCN, avps: { resultCode: { resultCode: 1 }, assignedTunnelId: 0x2b67 } });
    assert.deepEqual(b, hex('c802 0024 0009 0000 0004 0002 8008 0000 0000 0004 8008 0000 0001 0001 8008 0000 0009 2b67'));
  });
  test('ZLB ack: control header only, Length 12', () => {
    const b = encodeZlb({ tunnelId: 0x2b67, sessionId: 0, ns: 1, nr: 1 });
    assert.deepEqual(b, hex('c802 000c 2b67 0000 0001 0001'));
    const m = decodeControlMessage(b);
    assert.equal(m.zlb, true);
    assert.equal(m.header.nr, 1);
  });
  test('every message type of §3.2 round-trips', () => {
    for (const t of [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16]) {
      const b = encodeControlMessage({ tunnelId: 1, sessionId: 2, ns: 3, nr: 4, messageType: t, avps: {} });
      assert.equal(control(decodeControlMessage(b)).messageType, t);
    }
    assert.equal(isTunnelMessage(MT.StopCCN), true);
    assert.equal(isTunnelMessage(MT.CDN), false);
  });
  test('every AVP of §4.4 in one message round-trips', () => {
    const avps: Record<string, unknown> = {};
    for (const r of ATTRIBUTE_RULES) if (r.key !== 'messageType') avps[r.key] = SAMPLE_VALUES[r.key][0];
    const b = encodeControlMessage({ tunnelId: 1, sessionId: 2, ns: 3, nr: 4, messageType: MT.ICCN, avps: avps as L2tpAvps });
    const m = control(decodeControlMessage(b));
    assert.deepEqual(m.avps, avps);
    // M bits are as the RFC requires
    for (const a of m.rawAvps.slice(1)) {
      const rule = ATTRIBUTE_RULES.find((r) => r.type === a.attributeType)!;
      assert.equal(a.mandatory, rule.mandatory, rule.key);
    }
    assert.equal(m.rawAvps[1].attributeType, 36, 'Random Vector right after Message Type');
  });
});

describe('L2TP control messages: hidden AVPs', () => {
  const random = hex('00112233445566778899aabbccddeeff');
  test('hide with a secret, decode with the same secret', () => {
    const challenge = hex('0102030405060708090a0b0c0d0e0f10');
    const avps: L2tpAvps = { hostName: 'srv', assignedTunnelId: 77, challenge, challengeResponse: challengeResponse(2, 's3cret', challenge) };
    const b = encodeControlMessage({ tunnelId: 5, sessionId: 0, ns: 0, nr: 1, messageType: MT.SCCRP, avps, hide: { secret: 's3cret', random, padding: 5, randomBytes: (n) => new Uint8Array(n).fill(1) } });
    const m = control(decodeControlMessage(b, { secret: 's3cret' }));
    assert.deepEqual(m.avps, { ...avps, randomVector: random });
    // Random Vector right after Message Type, before the hidden AVPs; Host Name may not be hidden.
    assert.deepEqual(m.rawAvps.map((a) => [a.attributeType, a.hidden]), [[0, false], [36, false], [7, false], [9, true], [11, true], [13, true]]);
    // The wire does not carry the cleartext challenge.
    assert.equal(Buffer.from(b).includes(Buffer.from(challenge)), false);
  });
  test('hide only the listed AVPs', () => {
    const b = encodeControlMessage({ tunnelId: 5, sessionId: 0, ns: 0, nr: 1, messageType: MT.ICCN, avps: { proxyAuthenName: 'ia-user', txConnectSpeed: 1 }, hide: { secret: 'x', random, keys: ['proxyAuthenName'] } });
    const m = control(decodeControlMessage(b, { secret: 'x' }));
    assert.deepEqual(m.rawAvps.map((a) => [a.attributeType, a.hidden]), [[0, false], [36, false], [24, false], [30, true]]);
    assert.equal(m.avps.proxyAuthenName, 'ia-user');
    throwsCode(() => encodeControlMessage({ tunnelId: 5, sessionId: 0, ns: 0, nr: 1, messageType: MT.ICCN, avps: {}, hide: { secret: 'x', random, keys: ['hostName'] } }), 'L2TP_ERR_AVP_NOT_HIDEABLE');
  });
  test('hidden AVP but no secret configured: typed error with the header for the reply', () => {
    const b = encodeControlMessage({ tunnelId: 5, sessionId: 0, ns: 7, nr: 1, messageType: MT.SCCRP, avps: { assignedTunnelId: 77 }, hide: { secret: 's', random } });
    const e = messageError(() => decodeControlMessage(b), 'L2TP_ERR_HIDDEN_NO_SECRET');
    assert.equal(e.header.tunnelId, 5);
    assert.equal(e.header.ns, 7);
    assert.equal(e.messageType, MT.SCCRP);
    assert.equal(e.attributeType, 9);
  });
  test('wrong secret: the recovered length lies (L2TP_ERR_HIDDEN_AVP_LENGTH) for this vector', () => {
    const b = encodeControlMessage({ tunnelId: 5, sessionId: 0, ns: 0, nr: 1, messageType: MT.SCCRP, avps: { assignedTunnelId: 77 }, hide: { secret: 'right', random } });
    messageError(() => decodeControlMessage(b, { secret: 'wrong' }), 'L2TP_ERR_HIDDEN_AVP_LENGTH');
  });
  test('hidden AVP without a preceding Random Vector', () => {
    const b = hex('c802 001e 0000 0000 0000 0000 8008 0000 0000 0002 c00a 0000 0009 11223344');
    messageError(() => decodeControlMessage(b, { secret: 's' }), 'L2TP_ERR_HIDDEN_NO_RANDOM_VECTOR');
  });
  test('an AVP that must not be hidden arrives hidden', () => {
    const b = hex('c802 0024 0000 0000 0000 0000 8008 0000 0000 0002 8008 0000 0024 0102 c008 0000 000a 1234');
    messageError(() => decodeControlMessage(b, { secret: 's' }), 'L2TP_ERR_AVP_NOT_HIDEABLE');
  });
});

describe('L2TP control messages: unknown and vendor AVPs', () => {
  const base = { tunnelId: 1, sessionId: 2, ns: 0, nr: 0, messageType: MT.ICRQ, avps: { assignedSessionId: 3 } };
  const vendor = (mandatory: boolean, vendorId = 311, attributeType = 1): RawAvp => ({ mandatory, hidden: false, reserved: 0, vendorId, attributeType, value: hex('cafe') });
  test('a non-mandatory vendor AVP is passed over', () => {
    const m = control(decodeControlMessage(encodeControlMessage({ ...base, extraAvps: [vendor(false)] })));
    assert.deepEqual(m.avps, { assignedSessionId: 3 });
    assert.equal(m.unknownAvps.length, 1);
    assert.equal(m.unknownAvps[0].vendorId, 311);
  });
  test('a mandatory vendor AVP is L2TP_ERR_UNKNOWN_MANDATORY_AVP naming vendor and attribute', () => {
    const e = messageError(() => decodeControlMessage(encodeControlMessage({ ...base, extraAvps: [vendor(true)] })), 'L2TP_ERR_UNKNOWN_MANDATORY_AVP');
    assert.equal(e.vendorId, 311);
    assert.equal(e.attributeType, 1);
    assert.equal(e.header.sessionId, 2);
    assert.equal(e.messageType, MT.ICRQ);
  });
  test('an unknown IETF attribute: ignored without M, fatal with M', () => {
    assert.equal(control(decodeControlMessage(encodeControlMessage({ ...base, extraAvps: [vendor(false, 0, 40)] }))).unknownAvps.length, 1);
    messageError(() => decodeControlMessage(encodeControlMessage({ ...base, extraAvps: [vendor(true, 0, 20)] })), 'L2TP_ERR_UNKNOWN_MANDATORY_AVP');
  });
  test('a known AVP with a reserved bit set is treated as unrecognised (§4.1)', () => {
    const avp: RawAvp = { mandatory: false, hidden: false, reserved: 1, vendorId: 0, attributeType: 14, value: hex('0009') };
    const m = control(decodeControlMessage(encodeControlMessage({ ...base, avps: {}, extraAvps: [avp] })));
    assert.equal(m.avps.assignedSessionId, undefined);
    assert.equal(m.unknownAvps.length, 1);
    messageError(() => decodeControlMessage(encodeControlMessage({ ...base, avps: {}, extraAvps: [{ ...avp, mandatory: true }] })), 'L2TP_ERR_UNKNOWN_MANDATORY_AVP');
  });
});

describe('L2TP control messages: malformed input', () => {
  test('Message Type must come first', () => {
    const b = hex('c802 0014 0000 0000 0000 0000 8008 0000 0009 0001');
    messageError(() => decodeControlMessage(b), 'L2TP_ERR_MISSING_MESSAGE_TYPE');
    const twice = hex('c802 001c 0000 0000 0000 0000 8008 0000 0000 0001 8008 0000 0000 0001');
    messageError(() => decodeControlMessage(twice), 'L2TP_ERR_MISSING_MESSAGE_TYPE');
  });
  test('Message Type with a wrong length or hidden', () => {
    messageError(() => decodeControlMessage(hex('c802 0015 0000 0000 0000 0000 8009 0000 0000 000001')), 'L2TP_ERR_AVP_VALUE_LENGTH');
    messageError(() => decodeControlMessage(hex('c802 0014 0000 0000 0000 0000 c008 0000 0000 0001')), 'L2TP_ERR_AVP_NOT_HIDEABLE');
  });
  test('unknown message type: M set clears the tunnel, M clear may be ignored', () => {
    messageError(() => decodeControlMessage(hex('c802 0014 0000 0000 0000 0000 8008 0000 0000 0005')), 'L2TP_ERR_UNKNOWN_MESSAGE_TYPE');
    messageError(() => decodeControlMessage(hex('c802 0014 0000 0000 0000 0000 0008 0000 0000 0063')), 'L2TP_ERR_IGNORABLE_MESSAGE_TYPE');
  });
  test('a data message is not a control message', () => {
    throwsCode(() => decodeControlMessage(hex('0002 0001 0001 ff03')), 'L2TP_ERR_NOT_CONTROL');
  });
  test('AVP value of the wrong length inside a message', () => {
    const b = hex('c802 001d 0000 0000 0000 0000 8008 0000 0000 0001 8009 0000 0009 000001');
    const e = messageError(() => decodeControlMessage(b), 'L2TP_ERR_AVP_VALUE_LENGTH');
    assert.equal(e.attributeType, 9);
  });
  test('every truncation of a message is a typed error (the Length field no longer fits)', () => {
    for (let n = 0; n < XL2TPD_SCCRQ.length; n++) {
      assert.throws(() => decodeControlMessage(XL2TPD_SCCRQ.subarray(0, n)), CodecError);
    }
  });
  test('an AVP running past the Length field', () => {
    const b = Uint8Array.from(XL2TPD_SCCRQ);
    b[3] = 99; // Length one short: the last AVP no longer fits
    messageError(() => decodeControlMessage(cat(b)), 'L2TP_ERR_AVP_TRUNCATED');
  });
  test('encode refuses an over-long message and bad header values', () => {
    const big: RawAvp[] = Array.from({ length: 70 }, () => ({ mandatory: false, hidden: false, reserved: 0, vendorId: 9, attributeType: 1, value: new Uint8Array(1000) }));
    throwsCode(() => encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 0, nr: 0, messageType: 1, avps: {}, extraAvps: big }), 'L2TP_ERR_MESSAGE_TOO_LONG');
    throwsCode(() => encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 70000, nr: 0, messageType: 1, avps: {} }), 'L2TP_ERR_ENCODE');
    throwsCode(() => encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 0, nr: 0, messageType: 1, avps: { randomVector: hex('00') }, hide: { secret: 's', random: hex('01') } }), 'L2TP_ERR_ENCODE');
    // the same vector in both places is fine
    encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 0, nr: 0, messageType: 1, avps: { randomVector: hex('01') }, hide: { secret: 's', random: hex('01') } });
  });
});

describe('L2TP control messages: properties', () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const text = (min = 0) => fc.array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: min, maxLength: 30 }).map((a) => String.fromCharCode(...a));
  const bytes = (min = 0, max = 40) => fc.uint8Array({ minLength: min, maxLength: max });
  const arbAvps: fc.Arbitrary<L2tpAvps> = fc.record({
    resultCode: fc.oneof(fc.record({ resultCode: u16 }), fc.record({ resultCode: u16, errorCode: u16 }), fc.record({ resultCode: u16, errorCode: u16, errorMessage: text(1) })),
    protocolVersion: fc.record({ version: fc.integer({ min: 0, max: 255 }), revision: fc.integer({ min: 0, max: 255 }) }),
    framingCapabilities: u32,
    tieBreaker: bytes(8, 8),
    firmwareRevision: u16,
    hostName: text(1),
    vendorName: text(),
    assignedTunnelId: u16,
    receiveWindowSize: u16,
    challenge: bytes(1),
    q931CauseCode: fc.oneof(fc.record({ causeCode: u16, causeMessage: fc.integer({ min: 0, max: 255 }) }), fc.record({ causeCode: u16, causeMessage: fc.integer({ min: 0, max: 255 }), advisory: text(1) })),
    challengeResponse: bytes(16, 16),
    assignedSessionId: u16,
    callSerialNumber: u32,
    calledNumber: text(),
    rxConnectSpeed: u32,
    initialReceivedLcpConfReq: bytes(),
    proxyAuthenId: fc.integer({ min: 0, max: 255 }),
    callErrors: fc.record({ crcErrors: u32, framingErrors: u32, hardwareOverruns: u32, bufferOverruns: u32, timeoutErrors: u32, alignmentErrors: u32 }),
    accm: fc.record({ sendAccm: u32, receiveAccm: u32 }),
    sequencingRequired: fc.constant(true as const),
  }, { requiredKeys: [] });

  test('decode(encode(m)) gives the same AVPs, with and without hiding', () => {
    fc.assert(fc.property(arbAvps, u16, u16, u16, u16, fc.integer({ min: 1, max: 16 }), fc.option(fc.tuple(bytes(1, 20), bytes(0, 20), fc.nat(8)), { nil: undefined }), (avps, tunnelId, sessionId, ns, nr, messageType, hideArgs) => {
      if (messageType === 5 || messageType === 13) messageType = 1;
      const hide = hideArgs ? { secret: hideArgs[0], random: hideArgs[1], padding: hideArgs[2] } : undefined;
      const b = encodeControlMessage({ tunnelId, sessionId, ns, nr, messageType, avps, hide });
      const m = control(decodeControlMessage(b, { secret: hideArgs?.[0] }));
      assert.equal(m.messageType, messageType);
      assert.deepEqual([m.header.tunnelId, m.header.sessionId, m.header.ns, m.header.nr], [tunnelId, sessionId, ns, nr]);
      assert.deepEqual(m.avps, hide ? { ...avps, randomVector: hide.random } : avps);
    }), { numRuns: 1000 });
  });

  test('fuzz: random datagrams only ever give a CodecError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (b, withSecret) => {
      try {
        decodeControlMessage(b, withSecret ? { secret: 's' } : {});
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }), { numRuns: 5000 });
  });

  test('fuzz: mutated valid messages (with hidden AVPs) only ever give a CodecError', () => {
    const valid = encodeControlMessage({ tunnelId: 1, sessionId: 0, ns: 0, nr: 0, messageType: MT.SCCRP, avps: { hostName: 'h', assignedTunnelId: 2, challenge: hex('0102'), vendorName: 'v' }, hide: { secret: 's', random: hex('0a0b0c') } });
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }), fc.nat(valid.length), (flips, cut) => {
      const b = Uint8Array.from(valid);
      for (const [pos, v] of flips) b[pos % b.length] = v;
      try {
        decodeControlMessage(b.subarray(0, cut), { secret: 's' });
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }), { numRuns: 5000 });
  });
});
