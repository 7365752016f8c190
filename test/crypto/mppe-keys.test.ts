import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Rc4 } from '../../src/crypto/rc4.js';
import { lmPasswordHash, ntPasswordHash, ntPasswordHashHash } from '../../src/crypto/ntlm.js';
import {
  getAsymmetricStartKey,
  getMasterKey,
  getNewKeyFromSha,
  initialSessionKey,
  mschap1LmStartKey,
  mschap1NtStartKey,
  MsChapV1KeySource,
  MsChapV2KeySource,
  reduceSessionKey,
  StaticMppeKeySource,
} from '../../src/crypto/mppe-keys.js';
import { hex, loadVectors, toHex } from './vectors.js';

const V = loadVectors('mppe-rfc3079.json').vectors as any[];
const byName = (n: string) => V.find((v) => v.name === n);

for (const name of ['rfc3079-3.5.1-40bit', 'rfc3079-3.5.2-56bit', 'rfc3079-3.5.3-128bit']) {
  test(`RFC 3079 ${name}: master key, server send start key, session key, "test message"`, () => {
    const v = byName(name);
    const bits = v.inputs.key_bits as 40 | 56 | 128;
    const n = bits === 128 ? 16 : 8;
    const ph = ntPasswordHash(v.inputs.password);
    assert.equal(toHex(ph), v.outputs.password_hash);
    const phh = ntPasswordHashHash(ph);
    assert.equal(toHex(phh), v.outputs.password_hash_hash);
    const mk = getMasterKey(phh, hex(v.inputs.nt_response));
    assert.equal(toHex(mk), v.outputs.master_key);
    const start = getAsymmetricStartKey(mk, n, true, true);
    assert.equal(toHex(start), v.outputs.send_start_key);
    assert.equal(toHex(getNewKeyFromSha(start, start, n)), v.outputs.send_session_key_before_reduction);
    const session = initialSessionKey(start, bits);
    assert.equal(toHex(session), v.outputs.send_session_key);
    const msg = Uint8Array.from(Buffer.from(v.inputs.sample_plaintext, 'ascii'));
    new Rc4(session).process(msg, 0, msg.length);
    assert.equal(toHex(msg), v.outputs.sample_encrypted_message);
    // The same via the key source, seen from the server.
    const src = MsChapV2KeySource.fromPassword(v.inputs.password, hex(v.inputs.nt_response));
    assert.equal(toHex(src.startKeys(bits, 'server').send), v.outputs.send_start_key);
    assert.equal(toHex(src.startKeys(bits, 'client').recv), v.outputs.send_start_key);
  });
}

test('RFC 3079 directions: client send = server recv (Magic2), client recv = server send (Magic3)', () => {
  const v = byName('rfc3079-3.4-directions-128bit');
  const o = v.outputs;
  const src = MsChapV2KeySource.fromPassword(v.inputs.password, hex(v.inputs.nt_response));
  const server = src.startKeys(128, 'server');
  const client = src.startKeys(128, 'client');
  assert.equal(toHex(server.send), o['server_send_start_key = client_recv = RADIUS MS-MPPE-Send-Key']);
  assert.equal(toHex(server.recv), o['server_recv_start_key = client_send = RADIUS MS-MPPE-Recv-Key']);
  assert.deepEqual(client.send, server.recv);
  assert.deepEqual(client.recv, server.send);
  assert.equal(toHex(initialSessionKey(client.send, 128)), o.client_send_session_key_128);
  assert.equal(toHex(initialSessionKey(client.recv, 128)), o.client_recv_session_key_128);
  const radius = new StaticMppeKeySource(server.send, server.recv);
  assert.deepEqual(radius.startKeys(128, 'client'), client);
  assert.deepEqual(radius.startKeys(128, 'server'), server);
  assert.equal(toHex(radius.startKeys(40, 'server').send), toHex(server.send.subarray(0, 8)));
});

test('RFC 3078 7.3 key change chain (128-bit)', () => {
  const v = byName('rfc3078-7.3-key-change-chain-128bit');
  const start = hex(v.inputs.start_key);
  const want: string[] = v.outputs.session_keys_0_to_3;
  let session = initialSessionKey(start, 128);
  assert.equal(toHex(session), want[0]);
  for (let i = 1; i < want.length; i++) {
    const interim = Uint8Array.from(getNewKeyFromSha(start, session, 16));
    session = Uint8Array.from(interim);
    new Rc4(interim).process(session, 0, 16);
    assert.equal(toHex(session), want[i], `rekey ${i}`);
  }
});

test('RFC 3079 2.5 MS-CHAPv1 keys (LM-based 40/56-bit, NT-based 128-bit)', () => {
  const v = byName('rfc3079-2.5-mschapv1');
  const o = v.outputs;
  const ch = hex(v.inputs.challenge);
  assert.equal(toHex(lmPasswordHash(v.inputs.password)), o.lm_password_hash);
  const lm = mschap1LmStartKey(v.inputs.password);
  assert.equal(toHex(lm), o['key40_start (first 8 octets of LM hash)']);
  assert.equal(toHex(getNewKeyFromSha(lm, lm, 8)), o.key40_getkey);
  assert.equal(toHex(initialSessionKey(lm, 40)), o['session_key_40 (reduced)']);
  assert.equal(toHex(initialSessionKey(lm, 56)), o['session_key_56 (reduced)']);
  const hh = ntPasswordHashHash(ntPasswordHash(v.inputs.password));
  assert.equal(toHex(hh), o.nt_password_hash_hash);
  const start = mschap1NtStartKey(ch, hh);
  assert.equal(toHex(start), o['start_key_128 (GetStartKey)']);
  assert.equal(toHex(initialSessionKey(start, 128)), o.session_key_128);

  const src = MsChapV1KeySource.fromPassword(v.inputs.password, ch);
  const k40 = src.startKeys(40, 'client');
  assert.deepEqual(k40.send, k40.recv);
  assert.equal(toHex(initialSessionKey(k40.send, 40)), o['session_key_40 (reduced)']);
  assert.equal(toHex(initialSessionKey(src.startKeys(128, 'server').send, 128)), o.session_key_128);
  // pppd style: 8 octets of the NT start key for 40/56-bit.
  const pppd = MsChapV1KeySource.fromPassword(v.inputs.password, ch, 'pppd');
  assert.equal(toHex(pppd.startKeys(56, 'server').send), o['start_key_128 (GetStartKey)'].slice(0, 16));
});

test('40/56-bit reduction sets the salt octets only', () => {
  assert.equal(toHex(reduceSessionKey(hex('965c00c49fa62e3e'), 40)), 'd1269ec49fa62e3e');
  assert.equal(toHex(reduceSessionKey(hex('965c00c49fa62e3e'), 56)), 'd15c00c49fa62e3e');
  assert.equal(toHex(reduceSessionKey(hex('965c00c49fa62e3e'), 128)), '965c00c49fa62e3e');
});

test('key sources never show their keys in inspect, toString or JSON', () => {
  const v = byName('rfc3079-3.4-directions-128bit');
  const srcs = [
    MsChapV2KeySource.fromPassword(v.inputs.password, hex(v.inputs.nt_response)),
    MsChapV1KeySource.fromPassword('clientPass', hex('102db5df085d3041')),
    new StaticMppeKeySource(hex('8b7cdc149b993a1ba118cb153f56dccb'), hex('d5f0e9521e3ea9589645e86051c82226')),
  ];
  for (const s of srcs) {
    const k = s.startKeys(128, 'server');
    const shown = [inspect(s, { showHidden: true, depth: 5 }), String(s), JSON.stringify({ s })].join(' ');
    for (const key of [k.send, k.recv]) {
      assert.ok(!shown.includes(toHex(key)), shown);
      assert.ok(!shown.includes(String(key[0]) + ', ' + String(key[1])), shown);
    }
  }
});
