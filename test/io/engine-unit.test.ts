/**
 * The engine's packet logic without the kernel: fake channels with the same
 * rx/rxMeta/send shape as the addon's record what would go on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, greKey, l2tpKey, type FrameRef } from '../../src/io/engine.js';
import { ipv4ToU32, type RawSocket, type TunDevice, type UdpSocket } from '../../src/io/native.js';
import { FakeClock } from '../../src/protocol/clock.js';

interface Sent { bytes: number[]; addr: number; port: number }

class FakeChannel {
  readonly slot = 2048;
  readonly headroom = 64;
  readonly batch = 64;
  readonly rx = new Uint8Array(2048 * 64);
  readonly rxMeta = new Uint32Array(64 * 4);
  readonly tap = false;
  readonly sent: Sent[] = [];
  sendCalls = 0;
  onBatch: (n: number) => void = () => {};
  onDown: (e: number) => void = () => {};
  send(buf: Uint8Array, meta: Uint32Array, count: number): number {
    this.sendCalls++;
    for (let i = 0; i < count; i++) {
      const [off, len, addr, port] = meta.subarray(i * 4, i * 4 + 4);
      this.sent.push({ bytes: [...buf.subarray(off, off + len)], addr, port });
    }
    return count;
  }
  sendOne(buf: Uint8Array, off: number, len: number, addr = 0, port = 0): number {
    return this.send(buf, new Uint32Array([off, len, addr, port]), 1);
  }
  /** Puts packets into rx as the addon would and fires one batch. */
  deliver(pkts: { bytes: number[]; addr?: number; port?: number }[]): void {
    pkts.forEach((p, i) => {
      const off = i * this.slot + this.headroom;
      this.rx.set(p.bytes, off);
      this.rxMeta.set([off, p.bytes.length, p.addr ?? 0, p.port ?? 0], i * 4);
    });
    this.onBatch(pkts.length);
  }
}

const PEER = '198.18.0.2';
const PEER_U32 = ipv4ToU32(PEER);
// A minimal IPv4 header start (version 4) and an IPv6 one; the engine looks only at the version nibble.
const IP4 = [0x45, 0, 0, 24, 1, 2, 3, 4, 64, 17, 0, 0, 198, 19, 0, 1, 198, 19, 0, 2, 0xde, 0xad, 0xbe, 0xef];
const IP6 = [0x60, 0, 0, 0, 0, 0, 17, 64];

function setup(transport: 'l2tp' | 'gre', clock = new FakeClock()) {
  const engine = new Engine({ clock, ackDelayMs: 10 });
  const sock = new FakeChannel();
  const tun = new FakeChannel();
  if (transport === 'l2tp') engine.attachUdp(sock as unknown as UdpSocket);
  else engine.attachGre(sock as unknown as RawSocket);
  const control: [number, number[]][] = [];
  const session = transport === 'l2tp'
    ? engine.addSession({ transport, tunnelId: 0x1111, sessionId: 0x2222, peerTunnelId: 0x3333, peerSessionId: 0x4444, peerAddress: PEER, peerPort: 1701 })
    : engine.addSession({ transport, callId: 0x0101, peerCallId: 0x0202, peerAddress: PEER });
  session.onControl = (p, b, o, l) => control.push([p, [...b.subarray(o, o + l)]]);
  session.attachTun(tun as unknown as TunDevice);
  return { engine, sock, tun, session, control, clock };
}

/** A raw-socket packet: 20-byte IPv4 header (protocol 47) + GRE. */
function ipGre(gre: number[]): number[] {
  return [0x45, 0, 0, 0, 0, 0, 0, 0, 64, 47, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1, ...gre];
}

test('L2TP: a TUN batch leaves as one send of data messages (0x0002, peer IDs, FF 03, protocol)', () => {
  const { sock, tun, session } = setup('l2tp');
  tun.deliver([{ bytes: IP4 }, { bytes: IP6 }, { bytes: [0x00, 1, 2] } /* not IP: dropped */]);
  assert.equal(sock.sendCalls, 1);
  assert.equal(sock.sent.length, 2);
  assert.deepEqual(sock.sent[0], { bytes: [0, 2, 0x33, 0x33, 0x44, 0x44, 0xff, 0x03, 0x00, 0x21, ...IP4], addr: PEER_U32, port: 1701 });
  assert.deepEqual(sock.sent[1].bytes.slice(6, 10), [0xff, 0x03, 0x00, 0x57]);
  assert.equal(session.stats.txPackets, 2);
  assert.equal(session.stats.txDropped, 1);
});

test('L2TP: inbound data reaches the TUN in one write per batch; control frames and messages go up', () => {
  const { engine, sock, tun, control } = setup('l2tp');
  const ctl: number[][] = [];
  engine.onL2tpControl = (b, o, l, addr, port) => { ctl.push([...b.subarray(o, o + l)]); assert.equal(addr, PEER_U32); assert.equal(port, 1701); };
  const hdr = [0, 2, 0x11, 0x11, 0x22, 0x22];
  sock.deliver([
    { bytes: [...hdr, 0xff, 0x03, 0x00, 0x21, ...IP4], addr: PEER_U32, port: 1701 },
    { bytes: [...hdr, 0x21, ...IP4] }, // no address/control, PFC-compressed protocol
    { bytes: [...hdr, 0xff, 0x03, 0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0] }, // LCP Echo-Request
    { bytes: [0xc8, 0x02, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0], addr: PEER_U32, port: 1701 }, // a control message (ZLB)
    { bytes: [0, 2, 0x99, 0x99, 0x22, 0x22, 0xff, 0x03, 0x00, 0x21, ...IP4] }, // unknown tunnel
    { bytes: [0, 3, 0, 0] }, // malformed
  ]);
  assert.equal(tun.sendCalls, 1, 'one TUN send for the whole batch');
  assert.deepEqual(tun.sent.map((s) => s.bytes), [IP4, IP4]);
  assert.deepEqual(control, [[0xc021, [9, 1, 0, 8, 0, 0, 0, 0]]]);
  assert.equal(ctl.length, 1);
  assert.deepEqual(engine.stats, { l2tpUnknown: 1, greUnknown: 0, malformed: 1 });
});

test('GRE: outbound data carries K+S, the peer Call ID, increasing sequence numbers and a piggybacked ack', () => {
  const { sock, tun } = setup('gre');
  tun.deliver([{ bytes: IP4 }, { bytes: IP4 }]);
  const plen = IP4.length + 4;
  assert.deepEqual(sock.sent[0].bytes.slice(0, 16), [0x30, 0x01, 0x88, 0x0b, 0, plen, 0x02, 0x02, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0x21]);
  assert.deepEqual(sock.sent[1].bytes.slice(8, 12), [0, 0, 0, 1]);
  assert.equal(sock.sent[0].addr, PEER_U32);
  // Receive seq 7 from the peer: the next outbound packet acknowledges it (A bit, 16-byte header).
  sock.deliver([{ bytes: ipGre([0x30, 0x01, 0x88, 0x0b, 0, plen, 0x01, 0x01, 0, 0, 0, 7, 0xff, 0x03, 0x00, 0x21, ...IP4]), addr: PEER_U32 }]);
  tun.deliver([{ bytes: IP4 }]);
  const last = sock.sent[2].bytes;
  assert.deepEqual(last.slice(0, 2), [0x30, 0x81]);
  assert.deepEqual(last.slice(8, 16), [0, 0, 0, 2, 0, 0, 0, 7]);
  assert.deepEqual(last.slice(16), [0xff, 0x03, 0x00, 0x21, ...IP4]);
});

test('GRE: demux by peer address + Call ID, stale sequence numbers dropped (GreSession counts them), lone ack after the delay', () => {
  const { engine, sock, tun, session, clock } = setup('gre');
  const data = (seq: number, call = 0x0101) => ipGre([0x30, 0x01, 0x88, 0x0b, 0, 4 + IP4.length, call >> 8, call & 255, 0, 0, 0, seq, 0xff, 0x03, 0x00, 0x21, ...IP4]);
  sock.deliver([
    { bytes: data(5), addr: PEER_U32 },
    { bytes: data(5), addr: PEER_U32 }, // duplicate
    { bytes: data(4), addr: PEER_U32 }, // late
    { bytes: data(6), addr: ipv4ToU32('198.18.0.9') }, // right Call ID, wrong peer
    { bytes: data(6, 0x0999), addr: PEER_U32 }, // unknown Call ID
    { bytes: ipGre([0x20, 0x81, 0x88, 0x0b, 0, 0, 0x01, 0x01, 0, 0, 0, 3]), addr: PEER_U32 }, // ack-only
    { bytes: data(6), addr: PEER_U32 },
  ]);
  assert.equal(tun.sent.length, 2);
  assert.equal(session.greStats?.rx.underWin, 2, 'the duplicate and the late one');
  assert.equal(session.greStats?.rx.accepted, 2);
  assert.equal(session.greStats?.rx.acks, 1);
  assert.equal(engine.stats.greUnknown, 2);
  assert.equal(sock.sent.length, 0, 'no ack before the delay');
  clock.advance(10);
  assert.deepEqual(sock.sent.map((s) => s.bytes), [[0x20, 0x81, 0x88, 0x0b, 0, 0, 0x02, 0x02, 0, 0, 0, 6]]);
  assert.equal(engine.gre.get(greKey(PEER_U32, 0x0101)), session);
  clock.advance(100);
  assert.equal(sock.sent.length, 1, 'one ack, no timer left running');
});

test('GRE: packets that arrive out of order reach the TUN in sequence order (GreSession reorder pool), within a batch and after the reorder timeout', () => {
  const { sock, tun, session, clock } = setup('gre');
  const pkt = (seq: number) => {
    const ip = [...IP4];
    ip[23] = seq; // tell them apart on the TUN
    return { bytes: ipGre([0x30, 0x01, 0x88, 0x0b, 0, 4 + ip.length, 0x01, 0x01, 0, 0, 0, seq, 0xff, 0x03, 0x00, 0x21, ...ip]), addr: PEER_U32 };
  };
  sock.deliver([pkt(1), pkt(3), pkt(2), pkt(4)]);
  assert.deepEqual(tun.sent.map((s) => s.bytes[23]), [1, 2, 3, 4]);
  // 6 before 5, 5 never comes: 6 waits in the pool, then goes alone when the reorder time-out gives 5 up.
  sock.deliver([pkt(6)]);
  assert.equal(tun.sent.length, 4);
  clock.advance(1000);
  assert.deepEqual(tun.sent.map((s) => s.bytes[23]), [1, 2, 3, 4, 6]);
  assert.equal(session.greStats?.rx.lost, 1);
});

test('sendControl / sendFrame frame PPP for the tunnel; a txTransform (MPPE-like) rewrites data in place', () => {
  const { sock, tun, session } = setup('l2tp');
  session.sendControl(0xc021, new Uint8Array([1, 1, 0, 4]));
  assert.deepEqual(sock.sent[0].bytes, [0, 2, 0x33, 0x33, 0x44, 0x44, 0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
  session.sendFrame(new Uint8Array([0x80, 0x21, 1, 2, 0, 4]));
  assert.deepEqual(sock.sent[1].bytes.slice(6), [0xff, 0x03, 0x80, 0x21, 1, 2, 0, 4]);
  // Like MPPE (RFC 3078 §3): protocol 0x00FD + 2-octet header in front, body transformed.
  session.txTransform = (b: Uint8Array, ref: FrameRef) => {
    for (let i = ref.off; i < ref.off + ref.len; i++) b[i] ^= 0xff;
    ref.off -= 4; ref.len += 4;
    b[ref.off] = 0x00; b[ref.off + 1] = 0xfd; b[ref.off + 2] = 0x90; b[ref.off + 3] = 0x00;
    return true;
  };
  tun.deliver([{ bytes: IP4 }]);
  const w = sock.sent[2].bytes;
  assert.deepEqual(w.slice(0, 12), [0, 2, 0x33, 0x33, 0x44, 0x44, 0xff, 0x03, 0x00, 0xfd, 0x90, 0x00]);
  assert.deepEqual(w.slice(12), [0x00 ^ 0xff, 0x21 ^ 0xff, ...IP4.map((x) => x ^ 0xff)]);
  // A transform asking for more headroom than allowed is dropped, not written out of bounds.
  session.txTransform = (_b, ref) => { ref.off -= 40; return true; };
  tun.deliver([{ bytes: IP4 }]);
  assert.equal(sock.sent.length, 3);
  assert.equal(session.stats.txDropped, 1);
});

test('deliverToTun: joins the batch inside a socket batch, writes at once outside; close() unregisters', () => {
  const { engine, sock, tun, session } = setup('l2tp');
  session.onControl = (p, b, o, l) => { if (p === 0x00fd) session.deliverToTun(b, o, l); };
  sock.deliver([{ bytes: [0, 2, 0x11, 0x11, 0x22, 0x22, 0xff, 0x03, 0x00, 0xfd, ...IP4] }]);
  assert.equal(tun.sendCalls, 1);
  assert.deepEqual(tun.sent[0].bytes, IP4);
  session.deliverToTun(Uint8Array.from(IP6), 0, IP6.length);
  assert.equal(tun.sendCalls, 2);
  session.close();
  assert.equal(engine.l2tp.get(l2tpKey(0x1111, 0x2222)), undefined);
  sock.deliver([{ bytes: [0, 2, 0x11, 0x11, 0x22, 0x22, 0xff, 0x03, 0x00, 0x21, ...IP4] }]);
  assert.equal(engine.stats.l2tpUnknown, 1);
  assert.throws(() => engine.addSession({ transport: 'l2tp', tunnelId: 1, sessionId: 1, peerTunnelId: 1, peerSessionId: 1, peerAddress: PEER, peerPort: 1701 })
    && engine.addSession({ transport: 'l2tp', tunnelId: 1, sessionId: 1, peerTunnelId: 1, peerSessionId: 1, peerAddress: PEER, peerPort: 1701 }),
    (e: unknown) => (e as { code?: string }).code === 'IO_ERR_DEMUX_KEY_IN_USE');
});
