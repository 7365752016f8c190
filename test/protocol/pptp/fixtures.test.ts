/**
 * Our machines against bytes real peers sent in the interop lab (test/fixtures/pptp/
 * selftest.json: pptp-linux 1.10 client 198.18.0.120, pptpd 1.4.0 server 198.18.0.110).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decode, gre, PptpControlType as T, type PptpControlMessage } from '../../../src/codec/pptp/index.js';
import { ipv4HeaderLength } from '../../../src/codec/pptp/gre.js';
import { FakeClock } from '../../../src/protocol/clock.js';
import { GreSession } from '../../../src/protocol/pptp/gre-session.js';
import { PptpServer } from '../../../src/protocol/pptp/server.js';
import { PptpClientCall } from '../../../src/protocol/pptp/client.js';
import { LocalVerifier } from '../../../src/protocol/ppp/auth/index.js';
import { prng } from './harness.js';

const FILE = fileURLToPath(new URL('../../../../test/fixtures/pptp/selftest.json', import.meta.url));
const fx = JSON.parse(readFileSync(FILE, 'utf8')) as { tcpStreams: { flow: string; hex: string }[]; gre: { src: string; dst: string; flags: string; ipv4: string }[] };
const fromClient = Uint8Array.from(Buffer.from(fx.tcpStreams.find((s) => s.flow.endsWith(':1723'))!.hex, 'hex'));
const fromServer = Uint8Array.from(Buffer.from(fx.tcpStreams.find((s) => s.flow.includes(':1723>'))!.hex, 'hex'));
const PPTP_LINUX_CALL_ID = 0x2015;

describe('PPTP machines against real peers\' bytes', () => {
  for (const chunk of [fromClient.length, 1, 7]) {
    test(`our server answers pptp-linux (SCCRQ, OCRQ, Call-Clear-Request) fed ${chunk} octets at a time`, () => {
      const clock = new FakeClock();
      const out: PptpControlMessage[] = [];
      let closed: string | undefined;
      const server = new PptpServer({
        clock,
        ppp: () => ({ verifier: new LocalVerifier(() => undefined), localAddress: '198.18.5.1', remoteAddress: '198.18.5.2', random: prng(1) }),
        onGreWrite: () => true,
        onIp: () => {},
      });
      const conn = server.accept({ peerAddress: '198.18.0.120', onWrite: (b) => out.push(decode(b)), onClose: (r) => (closed = r) });
      for (let i = 0; i < fromClient.length; i += chunk) conn.receive(fromClient.subarray(i, i + chunk));
      assert.deepEqual(out.map((m) => m.type), [T.StartControlConnectionReply, T.OutgoingCallReply, T.CallDisconnectNotify]);
      const [rp, ocrp, cdn] = out;
      assert.ok(rp.type === T.StartControlConnectionReply && rp.resultCode === 1);
      assert.ok(ocrp.type === T.OutgoingCallReply && ocrp.resultCode === 1);
      assert.equal(ocrp.peerCallId, PPTP_LINUX_CALL_ID);
      assert.ok(cdn.type === T.CallDisconnectNotify);
      assert.equal(cdn.callId, ocrp.callId);
      assert.equal(cdn.resultCode, 4);
      // then pptp-linux closes the socket
      conn.tcpClosed();
      assert.equal(closed, 'peer closed the control connection');
      assert.equal(server.calls.length, 0);
      assert.equal(server.callIds.size, 0);
    });
  }

  test('our client accepts pptpd\'s SCCRP and OCRP and starts PPP over GRE with pptpd\'s Call ID', () => {
    const clock = new FakeClock();
    const out: PptpControlMessage[] = [];
    const greOut: gre.GrePacket[] = [];
    const client = new PptpClientCall({
      clock,
      callId: PPTP_LINUX_CALL_ID,
      ppp: { user: 'u', password: 'p', random: prng(2) },
      onTcpWrite: (b) => out.push(decode(b)),
      onTcpClose: () => {},
      onGreWrite: (b, o, l) => {
        greOut.push(gre.decode(b.slice(o, o + l)));
      },
      onIp: () => {},
    });
    client.start();
    client.receiveTcp(fromServer);
    assert.deepEqual(out.map((m) => m.type), [T.StartControlConnectionRequest, T.OutgoingCallRequest, T.SetLinkInfo]);
    assert.equal(client.control.peerInfo?.vendorName, 'linux');
    const call = client.session!.call;
    assert.equal(call.peerCallId, 0);
    assert.equal(call.peerWindow, 3);
    assert.equal(client.status, 'dialing');
    assert.equal(greOut.length, 1);
    assert.equal(greOut[0].callId, 0);
    assert.equal(greOut[0].sequence, 0);
    assert.deepEqual([...greOut[0].payload.subarray(0, 5)], [0xff, 0x03, 0xc0, 0x21, 0x01]);
  });

  test('real GRE packets (pptp-linux starts at sequence 1, pptpd at 0; ack-only 0x2081) are accepted', () => {
    for (const [src, dst] of [['198.18.0.120', '198.18.0.110'], ['198.18.0.110', '198.18.0.120']]) {
      const pkts = fx.gre.filter((g) => g.src === src && g.dst === dst).map((g) => {
        const b = Uint8Array.from(Buffer.from(g.ipv4, 'hex'));
        const ihl = ipv4HeaderLength(b);
        return b.subarray(ihl);
      });
      const callId = (pkts[0][6] << 8) | pkts[0][7];
      const clock = new FakeClock();
      let delivered = 0;
      const s = new GreSession({ clock, localCallId: callId, peerCallId: 1, onWrite: () => true, onPayload: () => delivered++ });
      for (const p of pkts) s.receive(p, 0, p.length);
      const rx = s.stats.rx;
      assert.equal(rx.invalid + rx.truncated, 0, `${src}: all well-formed`);
      assert.equal(delivered, rx.accepted);
      assert.equal(rx.acks, pkts.filter((p) => p[0] === 0x20).length);
      assert.ok(rx.accepted >= 2);
    }
  });
});
