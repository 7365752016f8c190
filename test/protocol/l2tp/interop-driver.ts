/**
 * A minimal io adapter for the L2TP machines, for the xl2tpd interop test: one UDP socket
 * on port 1701, RealClock, and an ICMP echo client (LAC mode) or responder (LNS mode) on
 * the PPP link's IPv4 path, so no TUN device is needed. Runs inside netns ia-lab as a child
 * process of xl2tpd-interop.test.ts and prints JSON lines ({"event": ...}) on stdout.
 *
 * It does nothing unless CULVERT_L2TP_DRIVER is set (the test runner may import it).
 *   CULVERT_L2TP_DRIVER=lac|lns  LOCAL=ip  SERVER=ip (lac)  MPPE=yes|no  SECRET=... (optional)  HIDE=yes (lac)
 */
import dgram from 'node:dgram';
import { RealClock } from '../../../src/io/real-clock.js';
import { L2tpLac } from '../../../src/protocol/l2tp/lac.js';
import { L2tpLns } from '../../../src/protocol/l2tp/lns.js';
import { L2TP_IP_HEADROOM, type L2tpCall } from '../../../src/protocol/l2tp/call.js';
import { LocalVerifier } from '../../../src/protocol/ppp/auth/index.js';
import type { PeerAddress } from '../../../src/protocol/l2tp/tunnel.js';

function out(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (s >>> 16) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

/** IPv4 + ICMP echo (request: type 8, reply: type 0) at buf[off]; returns its length. */
function writeEcho(buf: Uint8Array, off: number, src: string, dst: string, type: number, id: number, seq: number, payload: Uint8Array): number {
  const len = 20 + 8 + payload.length;
  buf.fill(0, off, off + len);
  buf[off] = 0x45;
  buf[off + 2] = len >> 8;
  buf[off + 3] = len & 0xff;
  buf[off + 8] = 64;
  buf[off + 9] = 1;
  buf.set(ip4(src), off + 12);
  buf.set(ip4(dst), off + 16);
  const hc = checksum(buf, off, 20);
  buf[off + 10] = hc >> 8;
  buf[off + 11] = hc & 0xff;
  const i = off + 20;
  buf[i] = type;
  buf[i + 4] = id >> 8;
  buf[i + 5] = id & 0xff;
  buf[i + 6] = seq >> 8;
  buf[i + 7] = seq & 0xff;
  buf.set(payload, i + 8);
  const ic = checksum(buf, i, 8 + payload.length);
  buf[i + 2] = ic >> 8;
  buf[i + 3] = ic & 0xff;
  return len;
}

function ipStr(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

async function main(mode: string): Promise<void> {
  const local = process.env.LOCAL ?? '198.18.0.1';
  const mppe = process.env.MPPE === 'yes';
  const secret = process.env.SECRET || undefined;
  const clock = new RealClock();
  const sock = dgram.createSocket('udp4');
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  // Copy: the machines may reuse the buffer before the asynchronous send completes.
  const send = (buf: Uint8Array, off: number, len: number, peer: PeerAddress) => sock.send(Buffer.from(buf.subarray(off, off + len)), peer.port, peer.address);
  await new Promise<void>((r) => sock.bind(1701, local, r));
  const hardStop = setTimeout(() => finish({ ok: false, why: 'driver timeout' }), 90_000);
  let finished = false;
  function finish(r: Record<string, unknown>): void {
    if (finished) return;
    finished = true;
    clearTimeout(hardStop);
    out({ event: 'result', ...r, log: lines.slice(-60) });
    sock.close();
    setTimeout(() => process.exit(0), 50);
  }

  if (mode === 'lac') {
    const lac = new L2tpLac({
      clock,
      server: { address: process.env.SERVER ?? '198.18.0.10' },
      hostName: 'culvert-lac',
      secret,
      hideAvps: process.env.HIDE === 'yes',
      ppp: { user: 'ia-user', password: 'ia-pass-123', allow: ['mschap2'], useEncryption: mppe ? 'required' : 'no' },
      send,
      log,
    });
    sock.on('message', (m, ri) => lac.receive(m, 0, m.length, { address: ri.address, port: ri.port }));
    const statuses: string[] = [];
    const replies: number[] = [];
    lac.on('status', (s) => statuses.push(s));
    lac.onIp = (b, o, l) => {
      if (l >= 28 && b[o + 9] === 1 && b[o + 20] === 0 && b[o + 24] === 0x12 && b[o + 25] === 0x34) replies.push((b[o + 26] << 8) | b[o + 27]);
    };
    lac.on('up', (info) => {
      out({ event: 'up', info });
      let seq = 0;
      const tick = setInterval(() => {
        if (seq >= 3) {
          clearInterval(tick);
          setTimeout(() => lac.close('test done'), 500);
          return;
        }
        const buf = new Uint8Array(L2TP_IP_HEADROOM + 100);
        const len = writeEcho(buf, L2TP_IP_HEADROOM, info.localAddress, info.remoteAddress, 8, 0x1234, ++seq, new TextEncoder().encode('culvert-l2tp-interop-ping'));
        out({ event: 'ping', seq, sent: lac.sendIp(buf, L2TP_IP_HEADROOM, len) });
      }, 300);
    });
    lac.on('down', (reason) => {
      // Let the StopCCN be acknowledged before reporting.
      setTimeout(() => {
        const t = lac.tunnel;
        finish({ ok: true, statuses, replies, reason, tunnelState: t?.state, transport: t?.transport, counters: t?.counters, endpoint: lac.endpoint.counters, link: lac.call?.link?.stats });
      }, 1500);
    });
    lac.start();
  } else {
    const lns = new L2tpLns({
      clock,
      hostName: 'culvert-lns',
      secret,
      pppFor: () => ({
        verifier: new LocalVerifier((u) => (u === 'ia-user' ? { password: 'ia-pass-123' } : undefined)),
        authentication: ['mschap2'],
        localAddress: '198.19.3.1',
        remoteAddress: '198.19.3.100',
        useEncryption: mppe ? 'required' : 'no',
      }),
      send,
      log,
    });
    sock.on('message', (m, ri) => lns.receive(m, 0, m.length, { address: ri.address, port: ri.port }));
    let echoes = 0;
    lns.on('call', (call: L2tpCall) => {
      call.onIp = (b, o, l) => {
        // Answer ICMP echo requests to our address.
        if (l < 28 || b[o + 9] !== 1 || b[o + 20] !== 8) return;
        const hl = (b[o] & 0x0f) * 4;
        const payload = b.slice(o + hl + 8, o + l);
        const buf = new Uint8Array(L2TP_IP_HEADROOM + l);
        const n = writeEcho(buf, L2TP_IP_HEADROOM, ipStr(b, o + 16), ipStr(b, o + 12), 0, (b[o + hl + 4] << 8) | b[o + hl + 5], (b[o + hl + 6] << 8) | b[o + hl + 7], payload);
        if (call.sendIp(buf, L2TP_IP_HEADROOM, n)) echoes++;
      };
      call.on('up', (info) => out({ event: 'up', info }));
      call.on('down', (reason) => {
        setTimeout(() => {
          finish({ ok: true, echoes, reason, tunnelState: call.tunnel.state, transport: call.tunnel.transport, counters: call.tunnel.counters, endpoint: lns.endpoint.counters, link: call.link?.stats });
        }, 1500);
      });
    });
  }
  out({ event: 'ready', mode, local });
}

const mode = process.env.CULVERT_L2TP_DRIVER;
if (mode === 'lac' || mode === 'lns') {
  main(mode).catch((e) => {
    out({ event: 'result', ok: false, why: String((e as Error)?.stack ?? e) });
    process.exit(1);
  });
}
