import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { MppeSession, type MppeOptions } from '../../../src/protocol/ppp/mppe.js';
import { Rc4 } from '../../../src/crypto/rc4.js';
import { MsChapV2KeySource } from '../../../src/crypto/mppe-keys.js';
import { CodecError } from '../../../src/errors.js';
import { hex, loadVectors, toHex } from '../../crypto/vectors.js';

const V = loadVectors('mppe-rfc3079.json').vectors as any[];
const byName = (n: string) => V.find((v) => v.name === n);
const DIR = byName('rfc3079-3.4-directions-128bit');
const CHAIN = byName('rfc3078-7.3-key-change-chain-128bit');

/** A client and a server session from the RFC 2759 credentials, as the link would build them. */
function pair(bits: 40 | 56 | 128, stateless: boolean, extra: Partial<MppeOptions> = {}, extraServer: Partial<MppeOptions> = {}) {
  const src = MsChapV2KeySource.fromPassword(DIR.inputs.password, hex(DIR.inputs.nt_response));
  const c = src.startKeys(bits, 'client');
  const s = src.startKeys(bits, 'server');
  return {
    client: new MppeSession({ bits, stateless, sendKey: c.send, recvKey: c.recv, ...extra }),
    server: new MppeSession({ bits, stateless, sendKey: s.send, recvKey: s.recv, ...extraServer }),
  };
}

/** Encrypt an inner packet (protocol 0x0021 + payload tagged with `seq`), returning the wire bytes. */
function seal(sess: MppeSession, seq: number, size = 40): Uint8Array {
  const buf = new Uint8Array(2 + size);
  buf[2] = 0x00;
  buf[3] = 0x21;
  for (let i = 4; i < buf.length; i++) buf[i] = (seq * 7 + i) & 0xff;
  buf[4] = seq & 0xff;
  buf[5] = (seq >>> 8) & 0xff;
  const start = sess.encryptInPlace(buf, 2, size);
  assert.equal(start, 0);
  return buf;
}

/** Decrypt wire bytes; returns the seq carried in the plaintext or -1 if dropped. */
function open(sess: MppeSession, wire: Uint8Array): number {
  const buf = Uint8Array.from(wire);
  const p = sess.decryptInPlace(buf, 0, buf.length);
  if (p < 0) return -1;
  assert.equal(p, 2);
  assert.equal(buf[2], 0x00, 'protocol field decrypts');
  assert.equal(buf[3], 0x21, 'protocol field decrypts');
  const seq = buf[4] | (buf[5] << 8);
  for (let i = 6; i < buf.length; i++) assert.equal(buf[i], (seq * 7 + i) & 0xff, 'payload decrypts');
  return seq;
}

const ccOf = (wire: Uint8Array) => ((wire[0] & 0x0f) << 8) | wire[1];
const flushedOf = (wire: Uint8Array) => (wire[0] & 0x80) !== 0;

for (const name of ['rfc3079-3.5.1-40bit', 'rfc3079-3.5.2-56bit', 'rfc3079-3.5.3-128bit']) {
  test(`RFC 3079 "test message" sample (${name}) is the first stateful packet's ciphertext`, () => {
    const v = byName(name);
    const key = hex(v.outputs.send_start_key);
    const bits = v.inputs.key_bits;
    const tx = new MppeSession({ bits, stateless: false, sendKey: key, recvKey: key });
    const msg = Buffer.from(v.inputs.sample_plaintext, 'ascii');
    const buf = new Uint8Array(2 + msg.length);
    buf.set(msg, 2);
    assert.equal(tx.encryptInPlace(buf, 2, msg.length), 0);
    assert.equal(toHex(buf.subarray(0, 2)), '1000', 'D bit, count 0, not flushed');
    assert.equal(toHex(buf.subarray(2)), v.outputs.sample_encrypted_message);
    // And the peer with the same key decrypts it.
    const rx = new MppeSession({ bits, stateless: false, sendKey: key, recvKey: key });
    assert.equal(rx.decryptInPlace(buf, 0, buf.length), 2);
    assert.equal(Buffer.from(buf.subarray(2)).toString('ascii'), 'test message');
  });
}

test('stateless: the first packet already uses the first re-keyed session key (RFC 3078 7.1/7.3 chain)', () => {
  const start = hex(CHAIN.inputs.start_key);
  const keys: string[] = CHAIN.outputs.session_keys_0_to_3;
  const tx = new MppeSession({ bits: 128, stateless: true, sendKey: start, recvKey: start });
  for (let k = 1; k <= 3; k++) {
    const buf = new Uint8Array(2 + 16);
    tx.encryptInPlace(buf, 2, 16);
    assert.equal(buf[0], 0x90, 'A and D bits');
    assert.equal(buf[1], k - 1);
    const ks = new Uint8Array(16);
    new Rc4(hex(keys[k])).process(ks, 0, 16);
    assert.equal(toHex(buf.subarray(2)), toHex(ks), `packet ${k - 1} keyed with session key ${k}`);
  }
  assert.equal(tx.stats.rekeys, 3);
  assert.equal(tx.encoding, 'MPPE128 stateless');
});

test('stateful: packet 255 (the flag packet) is re-keyed, FLUSHED, and uses the next chain key', () => {
  const start = hex(CHAIN.inputs.start_key);
  const keys: string[] = CHAIN.outputs.session_keys_0_to_3;
  const tx = new MppeSession({ bits: 128, stateless: false, sendKey: start, recvKey: start });
  const rc4 = new Rc4(hex(keys[0]));
  for (let cc = 0; cc < 255; cc++) {
    const buf = new Uint8Array(2 + 8);
    tx.encryptInPlace(buf, 2, 8);
    assert.equal(buf[0], 0x10);
    const ks = new Uint8Array(8);
    rc4.process(ks, 0, 8);
    assert.equal(toHex(buf.subarray(2)), toHex(ks), `stateful keystream continues at ${cc}`);
  }
  const buf = new Uint8Array(2 + 8);
  tx.encryptInPlace(buf, 2, 8);
  assert.equal(toHex(buf.subarray(0, 2)), '90ff');
  const ks = new Uint8Array(8);
  new Rc4(hex(keys[1])).process(ks, 0, 8);
  assert.equal(toHex(buf.subarray(2)), toHex(ks));
  assert.equal(tx.stats.rekeys, 1);
  assert.equal(tx.encoding, 'MPPE128 stateful');
});

for (const bits of [40, 56, 128] as const) {
  for (const stateless of [true, false]) {
    test(`MPPE${bits} ${stateless ? 'stateless' : 'stateful'}: 5000 packets both ways, count wraps at 4096`, () => {
      const { client, server } = pair(bits, stateless);
      for (let i = 0; i < 5000; i++) {
        const w1 = seal(client, i);
        assert.equal(ccOf(w1), i % 4096);
        assert.equal(flushedOf(w1), stateless || (i & 0xff) === 0xff);
        assert.equal(open(server, w1), i & 0xffff);
        const w2 = seal(server, i + 1);
        assert.equal(open(client, w2), (i + 1) & 0xffff);
      }
      assert.deepEqual(
        { e: server.stats.encrypted, d: server.stats.decrypted, x: server.stats.dropped },
        { e: 5000, d: 5000, x: 0 },
      );
      assert.equal(server.stats.rekeys, stateless ? 10000 : 2 * Math.floor(5000 / 256) + 2 * (5000 % 256 === 0 ? 0 : 0));
    });
  }
}

test('stateless: loss, duplication and reordering: newer packets decrypt, late/duplicate ones are dropped and counted', () => {
  const { client, server } = pair(128, true);
  const wires = Array.from({ length: 20 }, (_, i) => seal(client, i));
  // 0,1 arrive; 2..4 lost; 5 arrives; 5 duplicated; 3 arrives late; 6; 8; 7 late; 9..19 with 12 duplicated.
  const order = [0, 1, 5, 5, 3, 6, 8, 7, 9, 10, 11, 12, 12, 13, 14, 15, 16, 17, 18, 19];
  const got = order.map((i) => open(server, wires[i]));
  assert.deepEqual(got, [0, 1, 5, -1, -1, 6, 8, -1, 9, 10, 11, 12, -1, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(server.stats.dropped, 4);
  assert.equal(server.stats.decrypted, 16);
  // A gap of 1000 (lost burst) is re-keyed through.
  for (let i = 20; i < 1020; i++) seal(client, i);
  assert.equal(open(server, seal(client, 1020)), 1020);
});

test('stateless: a packet more than half the count space ahead counts as old and is dropped', () => {
  const { client, server } = pair(128, true);
  const ws = Array.from({ length: 3000 }, (_, i) => seal(client, i));
  assert.equal(open(server, ws[0]), 0);
  assert.equal(open(server, ws[2100]), -1); // 2100 ahead > 2048: treated as late
  assert.equal(open(server, ws[1]), 1);
  assert.equal(open(server, ws[2000]), 2000);
});

test('stateful: a lost packet triggers one Reset-Request, discards until FLUSHED, and recovers after onPeerResetRequest', () => {
  let resets = 0;
  const { client, server } = pair(128, false, {}, { onResetRequest: () => resets++ });
  for (let i = 0; i < 10; i++) assert.equal(open(server, seal(client, i)), i);
  seal(client, 10); // lost
  assert.equal(open(server, seal(client, 11)), -1);
  assert.equal(resets, 1);
  assert.equal(server.awaitingFlush, true);
  assert.equal(open(server, seal(client, 12)), -1);
  assert.equal(open(server, seal(client, 13)), -1);
  assert.equal(resets, 1, 'no Reset-Request storm while discarding');
  client.onPeerResetRequest();
  const w = seal(client, 14);
  assert.equal(flushedOf(w), true);
  assert.equal(open(server, w), 14);
  assert.equal(server.awaitingFlush, false);
  server.onPeerResetAck();
  for (let i = 15; i < 700; i++) assert.equal(open(server, seal(client, i)), i);
  assert.equal(server.stats.resetRequests, 1);
  assert.equal(server.stats.dropped, 3);
});

test('stateful: losing the flag packet, or a burst of 700 across several flags, still resynchronises', () => {
  for (const [lostFrom, lostTo] of [[255, 255], [250, 256], [254, 254], [100, 800], [4000, 4200]]) {
    let resets = 0;
    const { client, server } = pair(128, false, {}, { onResetRequest: () => resets++ });
    let i = 0;
    for (; i < lostFrom; i++) assert.equal(open(server, seal(client, i)), i);
    for (; i <= lostTo; i++) seal(client, i);
    const after = seal(client, i++);
    // The first packet after the loss is dropped unless it is itself FLUSHED and in sequence terms lost nothing.
    assert.equal(open(server, after), -1);
    assert.equal(resets, 1);
    client.onPeerResetRequest();
    const w = seal(client, i);
    assert.equal(open(server, w), i, `recovered after losing ${lostFrom}..${lostTo}`);
    i++;
    for (const end = i + 600; i < end; i++) assert.equal(open(server, seal(client, i)), i);
  }
});

test('stateful: while discarding, a FLUSHED flag packet (before the reset arrives) also resynchronises', () => {
  let resets = 0;
  const { client, server } = pair(56, false, {}, { onResetRequest: () => resets++ });
  let i = 0;
  for (; i < 200; i++) assert.equal(open(server, seal(client, i)), i);
  seal(client, i++); // lost
  for (; i < 255; i++) assert.equal(open(server, seal(client, i)), -1);
  assert.equal(open(server, seal(client, 255)), 255);
  for (i = 256; i < 600; i++) assert.equal(open(server, seal(client, i)), i);
  assert.equal(resets, 1);
});

test('stateful: a packet with the flag count but no FLUSHED bit, or without the D bit, is dropped', () => {
  const { client, server } = pair(128, false);
  for (let i = 0; i < 255; i++) assert.equal(open(server, seal(client, i)), i);
  const w = seal(client, 255);
  const bad = Uint8Array.from(w);
  bad[0] &= 0x7f;
  assert.equal(open(server, bad), -1);
  const noD = Uint8Array.from(w);
  noD[0] &= ~0x10;
  assert.equal(open(server, noD), -1);
  assert.equal(open(server, w), 255);
});

test('stateless: a packet without the FLUSHED bit is dropped', () => {
  const { client, server } = pair(128, true);
  const w = seal(client, 0);
  w[0] &= 0x7f;
  assert.equal(open(server, w), -1);
  assert.equal(server.stats.dropped, 1);
});

test('encrypt in the middle of a larger buffer touches only header + range', () => {
  const { client, server } = pair(128, false);
  const buf = new Uint8Array(100).fill(0xee);
  buf.set([0x00, 0x21, 1, 2, 3, 4], 20);
  assert.equal(client.encryptInPlace(buf, 20, 6), 18);
  assert.ok(buf.subarray(0, 18).every((b) => b === 0xee));
  assert.ok(buf.subarray(26).every((b) => b === 0xee));
  assert.equal(server.decryptInPlace(buf, 18, 8), 20);
  assert.deepEqual([...buf.subarray(20, 26)], [0x00, 0x21, 1, 2, 3, 4]);
});

test('bad construction and no headroom are typed errors that do not show the key', () => {
  const key = hex('8b7cdc149b993a1ba118cb153f56dccb');
  const { client } = pair(128, false);
  assert.throws(() => client.encryptInPlace(new Uint8Array(10), 1, 4), (e: unknown) => e instanceof CodecError && e.code === 'MPPE_ERR_NO_HEADROOM');
  assert.throws(() => client.encryptInPlace(new Uint8Array(10), 2, 9), (e: unknown) => e instanceof CodecError);
  for (const bad of [{ bits: 128, sendKey: key.subarray(0, 8) }, { bits: 64 }]) {
    assert.throws(
      () => new MppeSession({ bits: 128, stateless: false, sendKey: key, recvKey: key, ...(bad as any) }),
      (e: unknown) => e instanceof CodecError && !e.message.includes('8b7c') && !e.message.includes('139'),
    );
  }
});

test('the keys never appear in inspect, toString or JSON output', () => {
  const key = hex('8b7cdc149b993a1ba118cb153f56dccb');
  const s = new MppeSession({ bits: 128, stateless: true, sendKey: key, recvKey: key });
  const shown = [inspect(s, { showHidden: true, depth: 10 }), String(s), JSON.stringify(s), `${s}`].join('\n');
  assert.ok(shown.includes('MPPE128 stateless'));
  assert.ok(!shown.includes('8b7c') && !shown.includes('139, 124'), shown);
  assert.deepEqual(Object.keys(s).sort(), ['encoding', 'stats']);
});

test('fuzz: decryptInPlace on random input never throws; returns -1 or off+2', () => {
  for (const stateless of [true, false]) {
    const { server } = pair(128, stateless, {}, { onResetRequest: () => {} });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -3, max: 90 }), fc.integer({ min: -3, max: 90 }), (data, off, len) => {
        const r = server.decryptInPlace(data, off, len);
        assert.ok(r === -1 || r === off + 2);
      }),
      { numRuns: 3000 },
    );
  }
});
