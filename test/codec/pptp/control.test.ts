import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import {
  decode,
  encode,
  encodingLength,
  create,
  sccrq,
  sccrp,
  PptpControlType as T,
  PPTP_MESSAGE_LENGTH,
  type PptpControlMessage,
} from '../../../src/codec/pptp/index.js';

import { hex, padded, throwsCode, arbMessage, u8 } from './helpers.js';

// pptp-linux 1.10 SCCRQ as seen on the wire (interop README "Peer behaviour"):
// version 1.0, framing 3, bearer 3, max channels 65535, firmware 1, host "local", vendor "cananian".
const PPTP_LINUX_SCCRQ = hex(
  '009c 0001 1a2b3c4d' + // Length 156, Message Type 1 (control), Magic Cookie
    '0001 0000' + // Control Message Type 1 (SCCRQ), Reserved0
    '0100 0000' + // Protocol Version 1.0, Reserved1
    '00000003' + // Framing Capabilities: async + sync
    '00000003' + // Bearer Capabilities: analog + digital
    'ffff 0001' + // Maximum Channels 65535, Firmware Revision 1
    padded('local', 64) +
    padded('cananian', 64),
);

// pptpd 1.4.0 SCCRP: result 1, framing 0, bearer 0, max channels 1, host "local", vendor "linux".
const PPTPD_SCCRP = hex(
  '009c 0001 1a2b3c4d 0002 0000' +
    '0100 01 00' + // Protocol Version 1.0, Result Code 1, Error Code 0
    '00000000 00000000' +
    '0001 0001' + // Maximum Channels 1, Firmware Revision 1
    padded('local', 64) +
    padded('linux', 64),
);

// pptp-linux OCRQ: call id 1, serial 1, min 2400 bps, max 10,000,000 bps, bearer 3,
// framing 3, window 3, delay 0, empty phone number.
const PPTP_LINUX_OCRQ = hex(
  '00a8 0001 1a2b3c4d 0007 0000' +
    '0001 0001' + // Call ID, Call Serial Number
    '00000960' + // Minimum BPS 2400
    '00989680' + // Maximum BPS 10,000,000
    '00000003 00000003' + // Bearer Type any, Framing Type any
    '0003 0000' + // Packet Recv. Window Size 3, Packet Processing Delay 0
    '0000 0000' + // Phone Number Length 0, Reserved1
    padded('', 64) +
    padded('', 64),
);

// pptpd OCRP: Call ID 0 (pptpd always uses 0), peer's call id 1, result 1 (connected),
// connect speed 10,000,000, window 3.
const PPTPD_OCRP = hex(
  '0020 0001 1a2b3c4d 0008 0000' +
    '0000 0001' + // Call ID 0, Peer's Call ID 1
    '01 00 0000' + // Result Code 1, Error Code 0, Cause Code 0
    '00989680' + // Connect Speed
    '0003 0000' + // Window 3, Processing Delay 0
    '00000000', // Physical Channel ID
);

/** One sample of every control message type. */
const SAMPLES: PptpControlMessage[] = [
  sccrq({ framingCapabilities: 3, bearerCapabilities: 3, maxChannels: 65535, firmwareRevision: 1, hostName: 'local', vendorName: 'cananian' }),
  sccrp({ resultCode: 1, maxChannels: 1, firmwareRevision: 1, hostName: 'local', vendorName: 'linux' }),
  { type: T.StopControlConnectionRequest, reason: 1 },
  { type: T.StopControlConnectionReply, resultCode: 1, errorCode: 0 },
  { type: T.EchoRequest, identifier: 0xdeadbeef },
  { type: T.EchoReply, identifier: 0xdeadbeef, resultCode: 1, errorCode: 0 },
  { type: T.OutgoingCallRequest, callId: 1, callSerialNumber: 1, minimumBps: 2400, maximumBps: 10_000_000, bearerType: 3, framingType: 3, receiveWindowSize: 3, processingDelay: 0, phoneNumber: '', subaddress: '' },
  { type: T.OutgoingCallReply, callId: 0, peerCallId: 1, resultCode: 1, errorCode: 0, causeCode: 0, connectSpeed: 10_000_000, receiveWindowSize: 3, processingDelay: 0, physicalChannelId: 0 },
  { type: T.IncomingCallRequest, callId: 7, callSerialNumber: 9, bearerType: 1, physicalChannelId: 42, dialedNumber: '5551234', dialingNumber: '5559876', subaddress: 'sub' },
  { type: T.IncomingCallReply, callId: 8, peerCallId: 7, resultCode: 1, errorCode: 0, receiveWindowSize: 64, transmitDelay: 0 },
  { type: T.IncomingCallConnected, peerCallId: 8, connectSpeed: 64000, receiveWindowSize: 16, transmitDelay: 5, framingType: 2 },
  { type: T.CallClearRequest, callId: 1 },
  { type: T.CallDisconnectNotify, callId: 1, resultCode: 4, errorCode: 0, causeCode: 0, callStatistics: 'rx=10 tx=12' },
  { type: T.WanErrorNotify, peerCallId: 3, crcErrors: 1, framingErrors: 2, hardwareOverruns: 3, bufferOverruns: 4, timeoutErrors: 5, alignmentErrors: 0xffffffff },
  { type: T.SetLinkInfo, peerCallId: 3, sendAccm: 0xffffffff, receiveAccm: 0 },
];

describe('PPTP control messages: peer vectors', () => {
  test('pptp-linux SCCRQ decodes to the fields seen on the wire and re-encodes byte for byte', () => {
    const m = decode(PPTP_LINUX_SCCRQ);
    assert.deepEqual(m, SAMPLES[0]);
    assert.deepEqual(encode(m), PPTP_LINUX_SCCRQ);
  });
  test('pptpd SCCRP', () => {
    const m = decode(PPTPD_SCCRP);
    assert.deepEqual(m, SAMPLES[1]);
    assert.deepEqual(encode(m), PPTPD_SCCRP);
  });
  test('pptp-linux OCRQ with an empty phone number', () => {
    const m = decode(PPTP_LINUX_OCRQ);
    assert.deepEqual(m, SAMPLES[6]);
    assert.deepEqual(encode(m), PPTP_LINUX_OCRQ);
  });
  test('pptpd OCRP with Call ID 0', () => {
    const m = decode(PPTPD_OCRP);
    assert.deepEqual(m, SAMPLES[7]);
    assert.deepEqual(encode(m), PPTPD_OCRP);
  });
  test('Echo-Request and Echo-Reply layouts (RFC 2637 §2.5, §2.6)', () => {
    assert.deepEqual(encode(SAMPLES[4]), hex('0010 0001 1a2b3c4d 0005 0000 deadbeef'));
    assert.deepEqual(encode(SAMPLES[5]), hex('0014 0001 1a2b3c4d 0006 0000 deadbeef 01 00 0000'));
  });
  test('Call-Clear-Request, Set-Link-Info, StopCCRQ layouts (§2.12, §2.15, §2.3)', () => {
    assert.deepEqual(encode(SAMPLES[11]), hex('0010 0001 1a2b3c4d 000c 0000 0001 0000'));
    assert.deepEqual(encode(SAMPLES[14]), hex('0018 0001 1a2b3c4d 000f 0000 0003 0000 ffffffff 00000000'));
    assert.deepEqual(encode(SAMPLES[2]), hex('0010 0001 1a2b3c4d 0003 0000 01 00 0000'));
  });
  test('ICRQ writes the number lengths and NUL-pads the 64-octet strings (§2.9)', () => {
    const b = encode(SAMPLES[8]);
    assert.equal(b.length, 220);
    assert.deepEqual(b.subarray(24, 28), hex('0007 0007'));
    assert.equal(Buffer.from(b.subarray(28, 35)).toString(), '5551234');
    assert.ok(b.subarray(35, 92).every((x) => x === 0));
    assert.equal(Buffer.from(b.subarray(156, 159)).toString(), 'sub');
  });
  test('CDN carries 128 octets of call statistics (§2.13)', () => {
    const b = encode(SAMPLES[12]);
    assert.equal(b.length, 148);
    assert.equal(Buffer.from(b.subarray(20, 31)).toString(), 'rx=10 tx=12');
    assert.deepEqual(decode(b), SAMPLES[12]);
  });
  test('a 64-octet host name with no NUL is legal', () => {
    const name = 'h'.repeat(64);
    const m = sccrq({ hostName: name });
    assert.equal((decode(encode(m)) as typeof m).hostName, name);
  });
});

describe('PPTP control messages: round trip and lengths', () => {
  test('every one of the 15 types has its fixed RFC size and round-trips', () => {
    assert.equal(SAMPLES.length, 15);
    for (const m of SAMPLES) {
      const b = encode(m);
      assert.equal(b.length, PPTP_MESSAGE_LENGTH[m.type], `type ${m.type}`);
      assert.equal(encodingLength(m), b.length);
      assert.deepEqual(decode(b), m);
    }
  });
  test('create() fills every field not given with 0 or an empty string', () => {
    assert.deepEqual(create(T.EchoRequest, { identifier: 7 }), { type: 5, identifier: 7 });
    assert.deepEqual(create(T.CallDisconnectNotify, { callId: 3 }), { type: 13, callId: 3, resultCode: 0, errorCode: 0, causeCode: 0, callStatistics: '' });
    assert.equal(encode(create(T.IncomingCallRequest)).length, 220);
    throwsCode(() => create(42 as 5), 'PPTP_ERR_UNKNOWN_CONTROL_TYPE');
  });
  test('encode into a caller buffer at an offset', () => {
    const buf = new Uint8Array(200).fill(0xee);
    encode(SAMPLES[4], buf, 10);
    assert.deepEqual(decode(buf, 10), SAMPLES[4]);
    assert.equal(buf[9], 0xee);
    assert.equal(buf[26], 0xee);
  });
  test('octets after the message are not read', () => {
    const b = Buffer.concat([encode(SAMPLES[11]), Buffer.from([1, 2, 3])]);
    assert.deepEqual(decode(b), SAMPLES[11]);
  });
});

describe('PPTP control messages: malformed input gives a typed error', () => {
  test('every truncation of every message is PPTP_ERR_TRUNCATED', () => {
    for (const m of SAMPLES) {
      const b = encode(m);
      for (let n = 0; n < b.length; n++) throwsCode(() => decode(b.subarray(0, n)), 'PPTP_ERR_TRUNCATED');
    }
  });
  test('wrong magic cookie', () => {
    const b = encode(SAMPLES[4]);
    b[7] ^= 1;
    throwsCode(() => decode(b), 'PPTP_ERR_BAD_MAGIC');
  });
  test('management message type (2) is not accepted', () => {
    const b = encode(SAMPLES[4]);
    b[3] = 2;
    throwsCode(() => decode(b), 'PPTP_ERR_BAD_MESSAGE_TYPE');
  });
  test('unknown control message types 0 and 16', () => {
    for (const t of [0, 16, 0xffff]) {
      const b = encode(SAMPLES[4]);
      b[8] = t >> 8;
      b[9] = t & 0xff;
      throwsCode(() => decode(b), 'PPTP_ERR_UNKNOWN_CONTROL_TYPE');
    }
  });
  test('Length that does not match the type', () => {
    const b = Buffer.concat([encode(SAMPLES[4]), Buffer.alloc(4)]);
    b[1] = 20; // an Echo-Request claiming 20 octets
    throwsCode(() => decode(b), 'PPTP_ERR_BAD_LENGTH');
  });
  test('Length below 16', () => {
    const b = encode(SAMPLES[4]);
    b[1] = 8;
    throwsCode(() => decode(b), 'PPTP_ERR_BAD_LENGTH');
  });
  test('non-zero reserved fields are rejected unless strict is off', () => {
    const b = encode(SAMPLES[2]); // StopCCRQ: Reserved1 at 13, Reserved2 at 14
    b[14] = 1;
    throwsCode(() => decode(b), 'PPTP_ERR_RESERVED');
    assert.deepEqual(decode(b, 0, { strict: false }), SAMPLES[2]);
    const c = encode(SAMPLES[4]);
    c[11] = 1; // Reserved0
    throwsCode(() => decode(c), 'PPTP_ERR_RESERVED');
    assert.deepEqual(decode(c, 0, { strict: false }), SAMPLES[4]);
  });
  test('encode refuses a host name over 64 octets and out-of-range numbers', () => {
    throwsCode(() => encode(sccrq({ hostName: 'x'.repeat(65) })), 'PPTP_ERR_FIELD_TOO_LONG');
    throwsCode(() => encode(sccrq({ hostName: 'é'.repeat(33) })), 'PPTP_ERR_FIELD_TOO_LONG'); // 66 UTF-8 octets
    throwsCode(() => encode({ type: T.EchoRequest, identifier: 2 ** 32 }), 'PPTP_ERR_BAD_FIELD');
    throwsCode(() => encode({ type: T.CallClearRequest, callId: -1 }), 'PPTP_ERR_BAD_FIELD');
    throwsCode(() => encode({ type: 99 } as unknown as PptpControlMessage), 'PPTP_ERR_UNKNOWN_CONTROL_TYPE');
    throwsCode(() => encode(SAMPLES[0], new Uint8Array(100)), 'PPTP_ERR_BUFFER_TOO_SMALL');
  });
});



describe('PPTP control messages: properties', () => {
  test('decode(encode(m)) equals m for any message', () => {
    fc.assert(fc.property(arbMessage, (m) => {
      assert.deepEqual(decode(encode(m)), m);
    }), { numRuns: 2000 });
  });
  test('fuzz: random bytes only ever give a CodecError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (b, strict) => {
      try {
        decode(b, 0, { strict });
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }), { numRuns: 5000 });
  });
  test('fuzz: mutated valid messages only ever give a CodecError', () => {
    fc.assert(fc.property(arbMessage, fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 6 }), fc.nat(230), (m, flips, cut) => {
      const b = encode(m);
      for (const [pos, v] of flips) b[pos % b.length] = v;
      try {
        decode(b.subarray(0, Math.min(cut, b.length)));
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    }), { numRuns: 5000 });
  });
});
