/**
 * Real xl2tpd 1.3.18 bytes (LAC and LNS) from the interop lab (test/fixtures/l2tp/*.json,
 * extracted from captures by test/fixtures/pptp/extract.py).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  decodeControlMessage,
  decodeHeader,
  encodeControlMessage,
  encodeRawAvp,
  encodeZlb,
  challengeResponse,
  verifyChallengeResponse,
  L2tpMessageType as MT,
  type L2tpControl,
} from '../../../src/codec/l2tp/index.js';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/l2tp/', import.meta.url));
interface Fixture {
  control: { src: string; dst: string; hex: string }[];
  data: { src: string; dst: string; hex: string }[];
}
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => [f, JSON.parse(readFileSync(DIR + f, 'utf8')) as Fixture] as const);
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

describe('L2TP fixtures from real xl2tpd peers', () => {
  test('fixtures are present', () => {
    assert.ok(FIXTURES.length >= 1);
  });
  for (const [name, fx] of FIXTURES) {
    test(`${name}: every control message decodes; the tunnel and session setup sequence`, () => {
      const msgs = fx.control.map((c) => decodeControlMessage(bytes(c.hex)));
      const kinds = msgs.map((m) => (m.zlb ? 'ZLB' : m.messageType));
      assert.deepEqual(kinds.slice(0, 9), [MT.SCCRQ, MT.SCCRP, MT.SCCCN, 'ZLB', MT.ICRQ, MT.ICRP, 'ZLB', MT.ICCN, 'ZLB']);
      for (const m of msgs) assert.equal(bytes(fx.control[msgs.indexOf(m)].hex).subarray(0, 2).toString(), '200,2', 'flags 0xC802');
      const sccrq = msgs[0] as L2tpControl;
      assert.deepEqual(sccrq.avps.protocolVersion, { version: 1, revision: 0 });
      assert.equal(sccrq.avps.framingCapabilities, 3);
      assert.equal(sccrq.avps.bearerCapabilities, 0);
      assert.equal(sccrq.avps.firmwareRevision, 0x0690);
      assert.equal(sccrq.avps.vendorName, 'xelerance.com');
      assert.equal(sccrq.avps.receiveWindowSize, 4);
      const sccrp = msgs[1] as L2tpControl;
      assert.equal(sccrp.header.tunnelId, sccrq.avps.assignedTunnelId, 'SCCRP goes to the tunnel ID the SCCRQ assigned');
      const icrq = msgs[4] as L2tpControl;
      assert.equal(icrq.avps.bearerType, 0);
      assert.ok(icrq.avps.assignedSessionId !== undefined && icrq.avps.callSerialNumber !== undefined);
      const iccn = msgs[7] as L2tpControl;
      assert.deepEqual([iccn.avps.txConnectSpeed, iccn.avps.framingType, iccn.avps.rxConnectSpeed], [0, 1, 0]);
      assert.equal(iccn.rawAvps.find((a) => a.attributeType === 38)!.mandatory, false, 'Rx Connect Speed sent without M');
    });
    test(`${name}: re-encoding reproduces the bytes (raw AVPs exactly; typed AVPs to the same meaning)`, () => {
      let sameOrderSccrq = 0;
      for (const c of fx.control) {
        const b = bytes(c.hex);
        const m = decodeControlMessage(b);
        if (m.zlb) {
          assert.deepEqual(encodeZlb(m.header), b);
          continue;
        }
        // Raw AVPs in wire order give the original bytes back.
        const body = new Uint8Array(b.length - 12);
        let p = 0;
        for (const a of m.rawAvps) p += encodeRawAvp(a, body, p);
        assert.equal(p, body.length);
        assert.deepEqual(body, b.subarray(12));
        // The typed form re-encodes to a message with the same meaning.
        const again = encodeControlMessage({ ...m.header, messageType: m.messageType, avps: m.avps });
        const m2 = decodeControlMessage(again) as L2tpControl;
        assert.deepEqual(m2.avps, m.avps);
        assert.equal(again.length, b.length);
        // Where xl2tpd writes the AVPs in our order (Message Type, Random Vector, then by
        // attribute type: its SCCRQ always), the bytes are identical. Its ICCN and StopCCN
        // use another order (Tx Connect Speed before Framing Type, Assigned Tunnel ID before
        // Result Code), as does its SCCRP with a challenge (Response before Challenge).
        if (m.rawAvps.map((a) => a.attributeType).join() === m2.rawAvps.map((a) => a.attributeType).join()) {
          assert.deepEqual(again, b);
          if (m.messageType === MT.SCCRQ) sameOrderSccrq++;
        }
      }
      assert.equal(sameOrderSccrq, 1, 'SCCRQ re-encoded byte for byte');
    });
    test(`${name}: data packets: flags 0x0002 (kernel path) or 0x4002 (userspace path, Length set)`, () => {
      assert.ok(fx.data.length > 0);
      const userspace = name.includes('userspace');
      for (const d of fx.data) {
        const b = bytes(d.hex);
        const h = decodeHeader(b);
        assert.equal(h.isControl, false);
        assert.equal((b[0] << 8) | b[1], userspace ? 0x4002 : 0x0002);
        assert.equal(h.headerLength, userspace ? 8 : 6);
        assert.equal(h.length, b.length);
        // LCP before ACFC is negotiated starts with FF 03; the userspace path also sends compressed frames
        if (!userspace) assert.deepEqual([...b.subarray(h.headerLength, h.headerLength + 2)], [0xff, 0x03]);
      }
    });
  }
  test('tunnel authentication: our challenge responses equal the ones xl2tpd computed', () => {
    const fx = FIXTURES.find(([n]) => n === 'l2tp-secret-userspace.json')?.[1] as (Fixture & { secret: string }) | undefined;
    assert.ok(fx, 'l2tp-secret-userspace fixture');
    const [sccrq, sccrp, scccn] = fx.control.slice(0, 3).map((c) => decodeControlMessage(bytes(c.hex), { secret: fx.secret }) as L2tpControl);
    assert.equal(sccrq.avps.challenge?.length, 16);
    assert.equal(sccrq.avps.randomVector?.length, 16);
    assert.deepEqual(challengeResponse(MT.SCCRP, fx.secret, sccrq.avps.challenge!), sccrp.avps.challengeResponse);
    assert.equal(verifyChallengeResponse(MT.SCCRP, fx.secret, sccrq.avps.challenge!, sccrp.avps.challengeResponse!), true);
    assert.deepEqual(challengeResponse(MT.SCCCN, fx.secret, sccrp.avps.challenge!), scccn.avps.challengeResponse);
    assert.equal(verifyChallengeResponse(MT.SCCCN, 'not-the-secret', sccrp.avps.challenge!, scccn.avps.challengeResponse!), false);
  });
  test('the LAC hang-up: StopCCN with Result Code 1 and a message, no CDN first', () => {
    const fx = FIXTURES.find(([n]) => n === 'l2tp-mschapv2.json')?.[1];
    assert.ok(fx, 'l2tp-mschapv2 fixture');
    const msgs = fx.control.map((c) => decodeControlMessage(bytes(c.hex)));
    const stop = msgs.find((m) => !m.zlb && m.messageType === MT.StopCCN) as L2tpControl;
    assert.ok(stop);
    assert.equal(msgs.some((m) => !m.zlb && m.messageType === MT.CDN), false);
    assert.equal(stop.avps.resultCode?.resultCode, 1);
    assert.equal(stop.avps.resultCode?.errorMessage, 'Goodbye!');
    assert.equal(stop.header.sessionId, 0);
  });
});
