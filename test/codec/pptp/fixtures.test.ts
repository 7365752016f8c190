/**
 * Real pptp-linux 1.10 / pptpd 1.4.0 bytes from the interop lab (test/fixtures/pptp/*.json,
 * extracted from a selftest capture by test/fixtures/pptp/extract.py).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PptpStreamParser, encode, gre, PptpControlType as T, type PptpControlMessage } from '../../../src/codec/pptp/index.js';

const DIR = fileURLToPath(new URL('../../../../test/fixtures/pptp/', import.meta.url));
interface Fixture {
  tcpStreams: { flow: string; hex: string }[];
  gre: { src: string; dst: string; flags: string; ipv4: string }[];
}
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => [f, JSON.parse(readFileSync(DIR + f, 'utf8')) as Fixture] as const);

function parseAll(stream: Uint8Array, chunk: number): PptpControlMessage[] {
  const p = new PptpStreamParser();
  const out: PptpControlMessage[] = [];
  for (let i = 0; i < stream.length; i += chunk) {
    const r = p.push(stream.subarray(i, i + chunk));
    assert.equal(r.error, null);
    out.push(...r.messages);
  }
  assert.equal(p.buffered, 0);
  return out;
}

describe('PPTP fixtures from real peers', () => {
  test('fixtures are present', () => {
    assert.ok(FIXTURES.length >= 1);
  });
  for (const [name, fx] of FIXTURES) {
    test(`${name}: each TCP stream parses the same whole or byte by byte, and re-encodes byte for byte`, () => {
      assert.ok(fx.tcpStreams.length >= 2);
      for (const s of fx.tcpStreams) {
        const bytes = Uint8Array.from(Buffer.from(s.hex, 'hex'));
        const whole = parseAll(bytes, bytes.length);
        assert.deepEqual(parseAll(bytes, 1), whole);
        assert.deepEqual(parseAll(bytes, 7), whole);
        assert.deepEqual(Uint8Array.from(Buffer.concat(whole.map((m) => encode(m)))), bytes, s.flow);
      }
    });
    test(`${name}: the messages pptp-linux and pptpd exchange`, () => {
      const client = fx.tcpStreams.find((s) => s.flow.endsWith(':1723'))!;
      const server = fx.tcpStreams.find((s) => s.flow.includes(':1723>'))!;
      const c = parseAll(Uint8Array.from(Buffer.from(client.hex, 'hex')), 1 << 20);
      const sv = parseAll(Uint8Array.from(Buffer.from(server.hex, 'hex')), 1 << 20);
      // pptp-linux: SCCRQ, OCRQ, then Call-Clear-Request at hang-up (no StopCCRQ).
      assert.deepEqual(c.map((m) => m.type), [T.StartControlConnectionRequest, T.OutgoingCallRequest, T.CallClearRequest]);
      assert.deepEqual(sv.map((m) => m.type).slice(0, 2), [T.StartControlConnectionReply, T.OutgoingCallReply]);
      const sccrq = c[0] as Extract<PptpControlMessage, { type: 1 }>;
      assert.deepEqual([sccrq.protocolVersion, sccrq.framingCapabilities, sccrq.bearerCapabilities, sccrq.maxChannels, sccrq.firmwareRevision, sccrq.hostName, sccrq.vendorName], [0x100, 3, 3, 65535, 1, 'local', 'cananian']);
      const sccrp = sv[0] as Extract<PptpControlMessage, { type: 2 }>;
      assert.deepEqual([sccrp.resultCode, sccrp.framingCapabilities, sccrp.bearerCapabilities, sccrp.maxChannels, sccrp.hostName, sccrp.vendorName], [1, 0, 0, 1, 'local', 'linux']);
      const ocrq = c[1] as Extract<PptpControlMessage, { type: 7 }>;
      assert.deepEqual([ocrq.minimumBps, ocrq.maximumBps, ocrq.bearerType, ocrq.framingType, ocrq.receiveWindowSize, ocrq.phoneNumber], [2400, 10_000_000, 3, 3, 3, '']);
      const ocrp = sv[1] as Extract<PptpControlMessage, { type: 8 }>;
      assert.equal(ocrp.callId, 0, 'pptpd uses Call ID 0');
      assert.equal(ocrp.peerCallId, ocrq.callId);
      assert.deepEqual([ocrp.resultCode, ocrp.connectSpeed, ocrp.receiveWindowSize], [1, 10_000_000, 3]);
      const ccrq = c[2] as Extract<PptpControlMessage, { type: 12 }>;
      assert.equal(ccrq.callId, ocrq.callId);
    });
    test(`${name}: GRE packets as a raw socket delivers them (IPv4 header included)`, () => {
      const seen = new Set<string>();
      const h = gre.createGreHeader();
      for (const g of fx.gre) {
        const pkt = Uint8Array.from(Buffer.from(g.ipv4, 'hex'));
        const ihl = gre.ipv4HeaderLength(pkt);
        const hlen = gre.decodeInto(pkt, ihl, pkt.length - ihl, h);
        seen.add(g.flags);
        assert.equal(h.hasSequence, g.flags[1] === '0' && g.flags[0] === '3');
        assert.equal(h.hasAck, g.flags.endsWith('81'));
        if (!h.hasSequence) assert.equal(h.payloadLength, 0);
        assert.equal(ihl + hlen + h.payloadLength, pkt.length);
        const re = new Uint8Array(16);
        const n = gre.encodeHeaderInto(re, 0, { callId: h.callId, payloadLength: h.payloadLength, sequence: h.hasSequence ? h.sequence : undefined, ack: h.hasAck ? h.ack : undefined });
        assert.deepEqual(re.subarray(0, n), pkt.subarray(ihl, ihl + hlen));
      }
      assert.deepEqual([...seen].sort(), ['2081', '3001', '3081']);
    });
  }
});
