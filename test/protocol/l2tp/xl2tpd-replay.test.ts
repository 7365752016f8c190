/**
 * Real xl2tpd 1.3.18 control messages (test/fixtures/l2tp/l2tp-mschapv2.json) replayed
 * into our machines: the LAC half into our LNS endpoint, the LNS half into our LAC. Only
 * the Tunnel/Session IDs in the header are rewritten to the ones our side assigned; Ns,
 * Nr and AVPs are xl2tpd's own. The capture ends with xl2tpd's StopCCN without a CDN.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { L2tpEndpoint } from '../../../src/protocol/l2tp/endpoint.js';
import { decodeHeader } from '../../../src/codec/l2tp/header.js';
import { decodeControlMessage, type L2tpControl } from '../../../src/codec/l2tp/message.js';
import { L2tpMessageType as MT } from '../../../src/codec/l2tp/message-types.js';
import { kind, Net, seededBytes } from './net.js';

const FX = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../test/fixtures/l2tp/l2tp-mschapv2.json', import.meta.url)), 'utf8')) as {
  control: { src: string; dst: string; hex: string }[];
};
const msgs = FX.control.map((c) => ({ src: c.src, b: Uint8Array.from(Buffer.from(c.hex, 'hex')) }));
const LAC_IP = msgs[0].src;
const fromLac = msgs.filter((m) => m.src === LAC_IP).map((m) => m.b);
const fromLns = msgs.filter((m) => m.src !== LAC_IP).map((m) => m.b);

function patchIds(b: Uint8Array, tunnelId: number, sessionId?: number): Uint8Array {
  const c = b.slice();
  c[4] = tunnelId >> 8;
  c[5] = tunnelId & 0xff;
  if (sessionId !== undefined) {
    c[6] = sessionId >> 8;
    c[7] = sessionId & 0xff;
  }
  return c;
}

describe('xl2tpd replay', () => {
  test('xl2tpd LAC -> our LNS: tunnel and call come up; its StopCCN (no CDN) is acknowledged and clears both', () => {
    const net = new Net();
    const me = { address: '198.18.0.130', port: 1701 };
    const peer = { address: LAC_IP, port: 1701 };
    const lns = new L2tpEndpoint({ clock: net.clock, role: 'lns', hostName: 'lns', acceptTunnels: true, randomBytes: seededBytes(7), send: net.sender(me) });
    const feed = (b: Uint8Array) => {
      lns.receive(b, 0, b.length, peer);
      net.pump();
    };
    const [sccrq, scccn, icrq, iccn, stopccn] = fromLac.filter((b) => b.length > 12);
    assert.deepEqual([sccrq, scccn, icrq, iccn, stopccn].map((b) => kind(b)), ['SCCRQ', 'SCCCN', 'ICRQ', 'ICCN', 'StopCCN']);
    feed(sccrq);
    const t = [...lns.tunnels.values()][0];
    const sccrp = decodeControlMessage(net.sent[0].data) as L2tpControl;
    assert.equal(sccrp.messageType, MT.SCCRP);
    assert.equal(sccrp.header.tunnelId, (decodeControlMessage(sccrq) as L2tpControl).avps.assignedTunnelId);
    assert.deepEqual([sccrp.header.ns, sccrp.header.nr], [0, 1]);
    feed(patchIds(scccn, t.localTunnelId));
    assert.ok(t.isUp);
    let sessionUp = false;
    t.on('session', (s) => s.on('up', () => (sessionUp = true)));
    feed(patchIds(icrq, t.localTunnelId));
    const s = [...t.sessions.values()][0];
    const icrp = decodeControlMessage(net.sent.at(-1)!.data) as L2tpControl;
    assert.equal(icrp.messageType, MT.ICRP);
    assert.deepEqual([icrp.header.ns, icrp.header.nr], [1, 3]);
    assert.equal(icrp.header.sessionId, (decodeControlMessage(icrq) as L2tpControl).avps.assignedSessionId);
    feed(patchIds(iccn, t.localTunnelId, s.localId));
    assert.ok(sessionUp && s.isUp);
    net.run(500);
    let sessionDown = '';
    s.on('down', (r) => (sessionDown = r));
    feed(patchIds(stopccn, t.localTunnelId));
    const ack = net.sent.at(-1)!;
    assert.equal(kind(ack), 'ZLB');
    assert.equal(decodeHeader(ack.data).nr, 5, 'the StopCCN (Ns 4) is acknowledged at once');
    assert.match(sessionDown, /StopCCN/);
    assert.equal(t.state, 'closing');
    assert.equal(t.counters.fsmErrors + t.counters.badNr + t.counters.nsOutOfWindow, 0);
    net.run(40_000, 100);
    assert.equal(lns.tunnels.size, 0);
  });

  test('xl2tpd LNS -> our LAC: its SCCRP, ICRP and ZLBs bring our tunnel and call up', () => {
    const net = new Net();
    const me = { address: LAC_IP, port: 1701 };
    const peer = { address: '198.18.0.130', port: 1701 };
    const lac = new L2tpEndpoint({ clock: net.clock, role: 'lac', hostName: 'lac', randomBytes: seededBytes(8), send: net.sender(me) });
    const feed = (b: Uint8Array) => {
      lac.receive(b, 0, b.length, peer);
      net.pump();
    };
    const t = lac.connect(peer);
    const [sccrp, zlb1, icrp, zlb2, zlb3] = fromLns;
    assert.deepEqual([sccrp, zlb1, icrp, zlb2, zlb3].map((b) => kind(b)), ['SCCRP', 'ZLB', 'ICRP', 'ZLB', 'ZLB']);
    feed(patchIds(sccrp, t.localTunnelId));
    assert.ok(t.isUp);
    assert.equal(kind(net.sent.at(-1)!), 'SCCCN');
    feed(patchIds(zlb1, t.localTunnelId));
    const s = t.openSession();
    net.pump();
    assert.equal(kind(net.sent.at(-1)!), 'ICRQ');
    feed(patchIds(icrp, t.localTunnelId, s.localId));
    assert.ok(s.isUp);
    assert.equal(s.peerId, (decodeControlMessage(icrp) as L2tpControl).avps.assignedSessionId);
    const iccn = decodeControlMessage(net.sent.at(-1)!.data) as L2tpControl;
    assert.equal(iccn.messageType, MT.ICCN);
    assert.deepEqual([iccn.header.ns, iccn.header.nr], [3, 2]);
    feed(patchIds(zlb2, t.localTunnelId));
    assert.equal(t.reliable.outstanding, 1, 'ICCN not yet acknowledged');
    feed(patchIds(zlb3, t.localTunnelId));
    assert.equal(t.reliable.outstanding, 0, 'xl2tpd\'s ZLB acknowledged everything we sent');
    assert.equal(t.transport.retransmissions, 0);
  });
});
