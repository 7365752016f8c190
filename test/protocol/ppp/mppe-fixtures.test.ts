/**
 * MPPE against real pppd traffic: the fixtures in test/fixtures/ppp were captured between
 * unmodified pppd peers (Linux ppp_mppe). Derive the keys from the recorded MS-CHAP exchange
 * (RFC 3079), decrypt every recorded MPPE frame in both directions, and re-encrypt the
 * plaintexts to reproduce pppd's exact ciphertext.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MppeSession } from '../../../src/protocol/ppp/mppe.js';
import { MsChapV1KeySource, MsChapV2KeySource } from '../../../src/crypto/mppe-keys.js';
import type { MppeKeySource } from '../../../src/protocol/ppp/auth/types.js';
import { framePayload, loadPppFixture } from '../../interop/ppp-fixture.js';
import { hex, toHex } from '../../crypto/vectors.js';

for (const name of ['pptp-mschapv2-mppe128', 'l2tp-mschapv2-mppe128', 'pptp-mschapv1-mppe128']) {
  test(`real pppd MPPE-128 stateless frames (${name}) decrypt and re-encrypt byte for byte`, () => {
    const fx = loadPppFixture(name);
    assert.match(fx.negotiated.client.compression, /MPPE 128-bit stateless/);
    const pw = fx.credentials.password;
    const src: MppeKeySource =
      fx.auth.method === 'mschapv2'
        ? MsChapV2KeySource.fromPassword(pw, hex(fx.auth.ntResponse))
        : MsChapV1KeySource.fromPassword(pw, hex(fx.auth.challenge));
    const ck = src.startKeys(128, 'client');
    const sk = src.startKeys(128, 'server');
    const client = new MppeSession({ bits: 128, stateless: true, sendKey: ck.send, recvKey: ck.recv });
    const server = new MppeSession({ bits: 128, stateless: true, sendKey: sk.send, recvKey: sk.recv });
    const reClient = new MppeSession({ bits: 128, stateless: true, sendKey: ck.send, recvKey: ck.recv });
    const reServer = new MppeSession({ bits: 128, stateless: true, sendKey: sk.send, recvKey: sk.recv });
    const frames = fx.frames.filter((f) => f.proto === 0xfd);
    assert.ok(frames.length >= 6, 'fixture has MPPE traffic both ways');
    let ipPackets = 0;
    for (const f of frames) {
      const wire = framePayload(f);
      const buf = Uint8Array.from(wire);
      const rx = f.dir === 'c2s' ? server : client;
      const p = rx.decryptInPlace(buf, 0, buf.length);
      assert.equal(p, 2, `frame ${f.i} accepted`);
      // pppd encrypts the uncompressed 2-byte protocol field; these sessions carry IPv4.
      assert.equal(toHex(buf.subarray(2, 4)), '0021', `frame ${f.i} decrypts to an IP packet`);
      assert.equal(buf[4] >> 4, 4, `frame ${f.i} IPv4 header`);
      ipPackets++;
      // Our sender produces pppd's bytes from the same plaintext.
      const again = new Uint8Array(buf.length);
      again.set(buf.subarray(2), 2);
      const tx = f.dir === 'c2s' ? reClient : reServer;
      assert.equal(tx.encryptInPlace(again, 2, buf.length - 2), 0);
      assert.equal(toHex(again), toHex(wire), `frame ${f.i} re-encrypts identically`);
    }
    assert.equal(ipPackets, frames.length);
    assert.equal(client.stats.dropped + server.stats.dropped, 0);
  });
}
