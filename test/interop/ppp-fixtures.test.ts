/**
 * The real pppd sessions in test/fixtures/ppp/ against our codecs and crypto:
 * every recorded frame decodes, the recorded authentication is what our crypto
 * computes from the lab password, and our MPPE decrypts pppd's encrypted traffic
 * into the IPv4 packets (pings between the negotiated tunnel addresses).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listPppFixtures, loadPppFixture, frameBytes, framePayload, type PppFixture } from './ppp-fixture.js';
import { decode as decodeFrame } from '../../src/codec/ppp/frame.js';
import { decode as decodeControl } from '../../src/codec/ppp/packet.js';
import { chapMd5Response } from '../../src/crypto/chap.js';
import { mschap1NtResponse, mschap2NtResponse, mschap2AuthenticatorResponse } from '../../src/crypto/mschap.js';
import { MsChapV1KeySource, MsChapV2KeySource } from '../../src/crypto/mppe-keys.js';
import { MppeSession } from '../../src/protocol/ppp/mppe.js';
import { readFileSync } from 'node:fs';
import { FIXTURE_DIR } from './ppp-fixture.js';
import { MANIFEST, buildFixture } from './extract-ppp-fixtures.js';

const fromHex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const CONTROL_PROTOCOLS = new Set([0xc021, 0x8021, 0x80fd, 0xc223, 0xc023]);

const names = listPppFixtures();

test('the six captured sessions are present', () => {
  assert.deepEqual(names, [
    'l2tp-mschapv2',
    'l2tp-mschapv2-mppe128',
    'pptp-chap',
    'pptp-mschapv1-mppe128',
    'pptp-mschapv2-mppe128',
    'pptp-pap',
  ]);
});

for (const name of names) {
  const fx: PppFixture = loadPppFixture(name);

  test(`${name}: both pppds reached the network phase (per their logs)`, () => {
    for (const side of ['client', 'server'] as const) {
      const n = fx.negotiated[side];
      assert.match(n.auth ?? '', /succeeded|authorized|^sent \[(CHAP Success|PAP AuthAck)/, `${side} auth`);
      assert.ok(n.localIp && n.remoteIp, `${side} got tunnel addresses`);
    }
    assert.equal(fx.negotiated.client.localIp, fx.negotiated.server.remoteIp);
    assert.ok(fx.frames.some((f) => f.dir === 'c2s') && fx.frames.some((f) => f.dir === 's2c'));
  });

  test(`${name}: our PPP frame codec decodes every recorded frame, control packets included`, () => {
    for (const f of fx.frames) {
      const d = decodeFrame(frameBytes(f));
      assert.equal(d.protocol, f.proto, `frame ${f.i} (${f.what})`);
      if (CONTROL_PROTOCOLS.has(f.proto)) {
        const p = decodeControl(d.info);
        assert.equal(p.code, d.info[0], `frame ${f.i} code`);
      }
    }
  });

  test(`${name}: the recorded authentication matches what our crypto computes from the lab password`, () => {
    const a = fx.auth;
    const { user, password } = fx.credentials;
    switch (a.method) {
      case 'pap':
        assert.equal(a.papUser, user);
        // The Authenticate-Request carries the password in clear (RFC 1334 §2.2.1).
        assert.ok(Buffer.from(framePayload(fx.frames[Number(a.papFrame)]!)).includes(Buffer.from(password)));
        break;
      case 'chap':
        assert.equal(
          Buffer.from(chapMd5Response(Number(a.chapId), password, fromHex(a.challenge!))).toString('hex'),
          a.response,
        );
        break;
      case 'mschapv1':
        assert.equal(Buffer.from(mschap1NtResponse(fromHex(a.challenge!), password)).toString('hex'), a.ntResponse);
        break;
      case 'mschapv2': {
        const nt = mschap2NtResponse(fromHex(a.challenge!), fromHex(a.peerChallenge!), user, password);
        assert.equal(Buffer.from(nt).toString('hex'), a.ntResponse);
        const s = mschap2AuthenticatorResponse(password, nt, fromHex(a.peerChallenge!), fromHex(a.challenge!), user);
        assert.equal(a.successMessage!.slice(0, 42).toUpperCase(), s.toUpperCase());
        break;
      }
      default:
        assert.fail(`unknown auth method ${a.method}`);
    }
  });

  const mppeFrames = fx.frames.filter((f) => f.proto === 0x00fd);
  if (fx.negotiated.client.compression?.includes('MPPE 128-bit stateless')) {
    test(`${name}: our MPPE-128 decrypts pppd's frames in both directions into pings between the tunnel addresses`, () => {
      const a = fx.auth;
      const keys =
        a.method === 'mschapv2'
          ? MsChapV2KeySource.fromPassword(fx.credentials.password, fromHex(a.ntResponse!))
          : MsChapV1KeySource.fromPassword(fx.credentials.password, fromHex(a.challenge!), 'pppd');
      const srvKeys = keys.startKeys(128, 'server');
      const cliKeys = keys.startKeys(128, 'client');
      const server = new MppeSession({ bits: 128, stateless: true, sendKey: srvKeys.send, recvKey: srvKeys.recv });
      const client = new MppeSession({ bits: 128, stateless: true, sendKey: cliKeys.send, recvKey: cliKeys.recv });
      assert.ok(mppeFrames.length >= 6, 'pings were captured');
      const addr = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
      for (const f of mppeFrames) {
        const buf = Uint8Array.from(framePayload(f));
        const at = (f.dir === 'c2s' ? server : client).decryptInPlace(buf, 0, buf.length);
        assert.ok(at >= 0, `frame ${f.i} (${f.dir}) was dropped`);
        // Inner protocol field: IPv4 (0x0021), possibly protocol-compressed.
        const ipAt = buf[at] === 0x21 ? at + 1 : at + 2;
        assert.ok(buf[at] === 0x21 || (buf[at] === 0 && buf[at + 1] === 0x21), `frame ${f.i}: inner protocol is IPv4`);
        assert.equal(buf[ipAt]! >> 4, 4, `frame ${f.i}: IPv4 header`);
        const src = addr(buf, ipAt + 12);
        const dst = addr(buf, ipAt + 16);
        const [from, to] =
          f.dir === 'c2s'
            ? [fx.negotiated.client.localIp, fx.negotiated.client.remoteIp]
            : [fx.negotiated.client.remoteIp, fx.negotiated.client.localIp];
        assert.deepEqual([src, dst], [from, to], `frame ${f.i} addresses`);
      }
      assert.equal(server.stats.dropped + client.stats.dropped, 0);
    });
  } else {
    test(`${name}: no MPPE was negotiated, so no encrypted frames were sent`, () => {
      assert.equal(mppeFrames.length, 0);
    });
  }
}

test('the committed fixtures are exactly what the extractor makes of the stored captures and pppd logs', () => {
  assert.deepEqual(MANIFEST.map((e) => e.name).sort(), names);
  for (const e of MANIFEST) {
    const dir = `${FIXTURE_DIR}captures/${e.dir}/`;
    const built = buildFixture(
      e,
      readFileSync(dir + e.capture),
      readFileSync(dir + e.clientLog, 'utf8'),
      readFileSync(dir + e.serverLog, 'utf8'),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(built)), loadPppFixture(e.name), e.name);
  }
});
