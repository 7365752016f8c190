import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError } from '../../../src/errors.js';
import { PptpStreamParser, encode, sccrq, sccrp, PptpControlType as T, type PptpControlMessage } from '../../../src/codec/pptp/index.js';
import { arbMessage } from './helpers.js';

const MSGS: PptpControlMessage[] = [
  sccrq({ framingCapabilities: 3, bearerCapabilities: 3, maxChannels: 65535, firmwareRevision: 1, hostName: 'local', vendorName: 'cananian' }),
  sccrp({ maxChannels: 1, firmwareRevision: 1, hostName: 'local', vendorName: 'linux' }),
  { type: T.EchoRequest, identifier: 7 },
  { type: T.IncomingCallRequest, callId: 7, callSerialNumber: 9, bearerType: 1, physicalChannelId: 42, dialedNumber: '1', dialingNumber: '2', subaddress: '' },
  { type: T.CallClearRequest, callId: 1 },
];
const STREAM = Buffer.concat(MSGS.map((m) => encode(m)));

function collect(chunks: Uint8Array[], opts = {}): { got: PptpControlMessage[]; errors: CodecError[]; parser: PptpStreamParser } {
  const got: PptpControlMessage[] = [];
  const errors: CodecError[] = [];
  const parser = new PptpStreamParser({ ...opts, onMessage: (m) => got.push(m), onError: (e) => errors.push(e) });
  for (const c of chunks) parser.push(c);
  return { got, errors, parser };
}

describe('PptpStreamParser', () => {
  test('many messages in one chunk', () => {
    const { got, errors, parser } = collect([STREAM]);
    assert.deepEqual(got, MSGS);
    assert.equal(errors.length, 0);
    assert.equal(parser.buffered, 0);
  });

  test('split at every byte position (two chunks) gives the same messages', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const { got, errors } = collect([STREAM.subarray(0, cut), STREAM.subarray(cut)]);
      assert.equal(errors.length, 0, `cut ${cut}`);
      assert.deepEqual(got, MSGS, `cut ${cut}`);
    }
  });

  test('one byte at a time', () => {
    const chunks = [...STREAM].map((b) => Uint8Array.of(b));
    const { got, errors } = collect(chunks);
    assert.deepEqual(got, MSGS);
    assert.equal(errors.length, 0);
  });

  test('push() also returns the messages completed by that chunk', () => {
    const p = new PptpStreamParser();
    const a = encode(MSGS[2]);
    assert.deepEqual(p.push(a.subarray(0, 5)), { messages: [], error: null });
    assert.equal(p.buffered, 5);
    assert.deepEqual(p.push(a.subarray(5)), { messages: [MSGS[2]], error: null });
  });

  test('a Length over the limit fails as soon as the header is in, before the body arrives', () => {
    const head = Uint8Array.from([0x01, 0x00, 0x00, 0x01, 0x1a, 0x2b, 0x3c, 0x4d]); // Length 256
    const { got, errors, parser } = collect([head.subarray(0, 3), head.subarray(3)]);
    assert.equal(got.length, 0);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'PPTP_ERR_MESSAGE_TOO_LONG');
    assert.equal(parser.error?.code, 'PPTP_ERR_MESSAGE_TOO_LONG');
  });

  test('maxMessageLength option is enforced (an ICRQ of 220 octets over a 200 limit)', () => {
    const { got, errors } = collect([STREAM], { maxMessageLength: 200 });
    assert.deepEqual(got, MSGS.slice(0, 3)); // the messages before the ICRQ still arrive
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'PPTP_ERR_MESSAGE_TOO_LONG');
  });

  test('an undersized Length is fatal', () => {
    const b = encode(MSGS[2]);
    b[1] = 12;
    const { errors } = collect([b]);
    assert.equal(errors[0].code, 'PPTP_ERR_BAD_LENGTH');
  });

  test('bad magic after good messages: earlier messages delivered, then one error, then nothing more', () => {
    const bad = encode(MSGS[2]);
    bad[4] = 0;
    const { got, errors, parser } = collect([Buffer.concat([encode(MSGS[0]), bad]), encode(MSGS[4])]);
    assert.deepEqual(got, [MSGS[0]]);
    assert.equal(errors.length, 1, 'error reported once');
    assert.equal(errors[0].code, 'PPTP_ERR_BAD_MAGIC');
    assert.deepEqual(parser.push(encode(MSGS[4])).messages, [], 'input after the error is ignored');
    assert.equal(parser.push(encode(MSGS[4])).error?.code, 'PPTP_ERR_BAD_MAGIC');
  });

  test('a framed message with a bad body (wrong length for its type) is an error, not a throw', () => {
    const b = Buffer.concat([encode(MSGS[2]), Buffer.alloc(4)]);
    b[1] = 20;
    const p = new PptpStreamParser();
    const r = p.push(b);
    assert.equal(r.error?.code, 'PPTP_ERR_BAD_LENGTH');
  });

  test('invalid option is refused', () => {
    assert.throws(() => new PptpStreamParser({ maxMessageLength: 8 }), CodecError);
  });

  test('property: any message sequence, any segmentation, same messages out', () => {
    fc.assert(fc.property(fc.array(arbMessage, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, cuts) => {
      const stream = Buffer.concat(msgs.map((m) => encode(m)));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let prev = 0;
      for (const p of points) {
        chunks.push(stream.subarray(prev, p));
        prev = p;
      }
      chunks.push(stream.subarray(prev));
      const { got, errors } = collect(chunks);
      assert.equal(errors.length, 0);
      assert.deepEqual(got, msgs);
    }), { numRuns: 500 });
  });

  test('fuzz: random chunks never throw, errors are CodecError and reported at most once', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
      let errs = 0;
      const p = new PptpStreamParser({ onError: (e) => { assert.ok(e instanceof CodecError); errs++; } });
      for (const c of chunks) {
        const r = p.push(c);
        if (r.error) assert.ok(r.error instanceof CodecError);
      }
      assert.ok(errs <= 1);
      assert.ok(p.buffered <= 220);
    }), { numRuns: 3000 });
  });
});
