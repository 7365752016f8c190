/**
 * The L2TP io adapter: one native UDP socket (port 1701 unless told otherwise) shared by
 * every L2TP endpoint of the process — at most one accepting LNS endpoint and any number
 * of LAC endpoints — for control and data alike (RFC 2661 §8.1: one port).
 *
 * Receive: each datagram of a socket batch is peeked (allocation-free) and handed to the
 * endpoint owning its Tunnel ID; the protocol layer demultiplexes further by Session ID
 * and does what only it knows (data Ns/Nr, the L bit, Hello postponement, MPPE in the PPP
 * Link). Decrypted IPv4 packets come back through `TunPort` bindings and are queued per
 * TUN, so each TUN gets one write per socket batch, straight out of the socket's rx buffer.
 *
 * Transmit: a TUN batch goes packet by packet through the call's `sendIp` (PPP framing and
 * MPPE in place, then the L2TP data header the session chooses, written into the TUN rx
 * buffer's headroom), and leaves as one sendmmsg. Control messages are sent at once (the
 * native layer copies whatever it has to queue, so the protocol layer's retransmission
 * buffers are never touched).
 *
 * A peer that answers from another port after our first message is followed by the
 * protocol layer (tunnels are found by Tunnel ID, never by source address).
 */
import { IoError } from '../../errors.js';
import { createL2tpPeek, peekInto, L2tpPeekStatus } from '../../codec/l2tp-peek.js';
import { L2TP_UDP_PORT } from '../../codec/l2tp/header.js';
import type { L2tpEndpoint } from '../../protocol/l2tp/endpoint.js';
import type { PeerAddress, SendFn } from '../../protocol/l2tp/tunnel.js';
import { L2TP_IP_HEADROOM } from '../../protocol/l2tp/call.js';
import { META_WORDS, UdpSocket, type TunDevice } from '../native.js';
import { TxBatch } from '../tx-batch.js';
import { ipv4ToU32, u32ToIpv4 } from '../ipv4.js';
import type { TunnelTransport } from '../ppp-interface.js';
import type { Link } from '../../protocol/ppp/link.js';

/** What carries IPv4 for one PPP session: an L2tpCall or an L2tpLac (same shape). */
export interface IpPort {
  sendIp(buf: Uint8Array, off: number, len: number): boolean;
  onIp: (buf: Uint8Array, off: number, len: number) => void;
}

export interface TunPortStats {
  /** IPv4 packets the TUN gave us that went into the tunnel. */
  txPackets: number;
  txBytes: number;
  /** Packets written to the TUN. */
  rxPackets: number;
  rxBytes: number;
  drops: {
    /** IPv6 (no IPV6CP) or garbage read from the TUN. */
    notIpv4: number;
    /** The call refused the packet (not up yet, or closing). */
    notUp: number;
  };
}

/** One TUN bound to one call's IPv4 path. `close()` unbinds (does not close the TUN). */
export class TunPort {
  readonly stats: TunPortStats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, drops: { notIpv4: 0, notUp: 0 } };
  private readonly tx: TxBatch;
  private closed = false;

  /** @internal use L2tpTransport.bindTun */
  constructor(private readonly transport: L2tpTransport, readonly tun: TunDevice, private readonly port: IpPort) {
    if (tun.tap) throw new IoError('IO_ERR_BAD_ARG', 'L2TP carries IP over PPP here: attach a TUN, not a TAP');
    if (tun.headroom < L2TP_IP_HEADROOM) throw new IoError('IO_ERR_BAD_ARG', `TUN headroom must be at least ${L2TP_IP_HEADROOM} octets for the L2TP + PPP headers`);
    this.tx = new TxBatch(tun);
    tun.onBatch = (n) => this.fromTun(n);
    port.onIp = (b, o, l) => this.toTun(b, o, l);
  }

  private fromTun(n: number): void {
    const t = this.transport;
    const meta = this.tun.rxMeta;
    const buf = this.tun.rx;
    const port = this.port;
    t.beginTx();
    try {
      for (let i = 0; i < n; i++) {
        const off = meta[i * META_WORDS];
        const len = meta[i * META_WORDS + 1];
        // Only IPv4 has an NCP here (no IPV6CP): anything else is dropped, not sent raw.
        if (len < 20 || buf[off] >> 4 !== 4) {
          this.stats.drops.notIpv4++;
          continue;
        }
        if (!port.sendIp(buf, off, len)) {
          this.stats.drops.notUp++;
          continue;
        }
        this.stats.txPackets++;
        this.stats.txBytes += len;
      }
    } finally {
      t.endTx();
    }
  }

  private toTun(buf: Uint8Array, off: number, len: number): void {
    if (this.closed) return;
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    this.transport.queueTun(this.tx, buf, off, len);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tx.flush();
    this.tun.onBatch = () => {};
    this.port.onIp = () => {};
  }
}

/** A TUN writer that batches per socket batch (PppInterface). */
export interface RxSink {
  readonly inBatch: boolean;
  beginRx(buf: Uint8Array): void;
  endRx(): void;
  deliverIp(buf: Uint8Array, off: number, len: number): void;
}

/**
 * The PppInterface side of one L2TP call: IPv4 from the TUN goes through `call.sendIp`
 * (in place, L2TP_IP_HEADROOM), and a TUN batch leaves as one sendmmsg.
 */
export function l2tpTunnelTransport(t: L2tpTransport, call: { sendIp(buf: Uint8Array, off: number, len: number): boolean; readonly link?: Link | undefined }): TunnelTransport {
  let open = false;
  const flush = (): void => {
    if (open) {
      open = false;
      t.endTx();
    }
  };
  return {
    headroom: L2TP_IP_HEADROOM,
    sendIp(buf, off, len) {
      if (!open) {
        open = true;
        t.beginTx();
        // Safety net: if the batch loop never reaches flush(), the datagrams still leave.
        queueMicrotask(flush);
      }
      return call.sendIp(buf, off, len);
    },
    flush,
    get link() {
      return call.link;
    },
  };
}

export interface L2tpTransportOptions {
  /** Local IPv4 address to bind (default 0.0.0.0). */
  address?: string;
  /** UDP port (default 1701; 0 = any). */
  port?: number;
  /** Datagrams per wake-up (default 64). */
  batch?: number;
  log?: (line: string) => void;
}

export interface L2tpTransportStats {
  datagrams: number;
  /** Header errors seen before any endpoint (by code), also counted by the endpoint when one exists. */
  malformed: number;
  /** Tunnel ID owned by no attached endpoint and no server to count it. */
  unrouted: number;
}

export class L2tpTransport {
  readonly socket: UdpSocket;
  readonly stats: L2tpTransportStats = { datagrams: 0, malformed: 0, unrouted: 0 };
  /** Give this to every endpoint (L2tpLac/L2tpLns `send`). */
  readonly send: SendFn;
  /** Give this to every endpoint (`randomBytes`): Tunnel IDs stay unique across endpoints on this socket. */
  readonly randomBytes: (n: number) => Uint8Array;

  private readonly endpoints: L2tpEndpoint[] = [];
  private server: L2tpEndpoint | undefined;
  private last: L2tpEndpoint | undefined;
  private readonly peek = createL2tpPeek();
  private readonly udpTx: TxBatch;
  private txDepth = 0;
  private readonly dirty: TxBatch[] = [];
  private inRx = false;
  private readonly addrCache = new Map<string, number>();
  private readonly nameCache = new Map<number, string>();
  private readonly dataFrom: PeerAddress = { address: '', port: 0 };
  private readonly touched: RxSink[] = [];
  private closed = false;

  private constructor(socket: UdpSocket, private readonly log: (line: string) => void) {
    this.socket = socket;
    this.udpTx = new TxBatch(socket);
    socket.onBatch = (n) => this.fromUdp(n);
    socket.onDown = (e) => this.log(`l2tp: UDP socket failed (errno ${e})`);
    this.send = (buf, off, len, peer) => this.sendTo(buf, off, len, peer);
    this.randomBytes = (n) => this.random(n);
  }

  /** Opens the socket (needs the address to exist; port 1701 needs root or CAP_NET_BIND_SERVICE). */
  static open(o: L2tpTransportOptions = {}): L2tpTransport {
    const sock = UdpSocket.open(o.port ?? L2TP_UDP_PORT, { address: o.address, batch: o.batch });
    return new L2tpTransport(sock, o.log ?? (() => {}));
  }

  get port(): number {
    return this.socket.port;
  }

  /**
   * Route this endpoint's datagrams to it. `server`: it also receives new SCCRQs (Tunnel
   * ID 0) and anything no other endpoint claims (so it counts those drops). Returns detach.
   */
  attach(ep: L2tpEndpoint, o: { server?: boolean } = {}): () => void {
    if (o.server) {
      if (this.server && this.server !== ep) throw new IoError('IO_ERR_BAD_ARG', 'an L2TP server endpoint is already attached to this socket');
      this.server = ep;
    }
    if (!this.endpoints.includes(ep)) this.endpoints.push(ep);
    return () => {
      const i = this.endpoints.indexOf(ep);
      if (i >= 0) this.endpoints.splice(i, 1);
      if (this.server === ep) this.server = undefined;
      if (this.last === ep) this.last = undefined;
    };
  }

  /**
   * A received IPv4 packet for `sink`: inside a socket batch it joins the sink's one TUN
   * write for the batch (the socket's rx buffer stays untouched until the batch ends).
   */
  deliver(sink: RxSink, buf: Uint8Array, off: number, len: number): void {
    if (this.inRx && !sink.inBatch) {
      sink.beginRx(this.socket.rx);
      this.touched.push(sink);
    }
    sink.deliverIp(buf, off, len);
  }

  /** Carry `port`'s IPv4 packets over `tun` (both ways). */
  bindTun(tun: TunDevice, port: IpPort): TunPort {
    return new TunPort(this, tun, port);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udpTx.flush();
    this.socket.onBatch = () => {};
    this.socket.close();
  }

  // ---- internals ----------------------------------------------------------------------------

  private random(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let tries = 0; ; tries++) {
      globalThis.crypto.getRandomValues(b);
      // A 2-octet draw is a Tunnel ID candidate: keep it unique across all endpoints here.
      if (n !== 2 || tries > 64) return b;
      const id = (b[0] << 8) | b[1];
      if (id !== 0 && !this.owner(id)) return b;
    }
  }

  private owner(tid: number): L2tpEndpoint | undefined {
    const l = this.last;
    if (l && l.tunnels.has(tid)) return l;
    for (const ep of this.endpoints) {
      if (ep.tunnels.has(tid)) {
        this.last = ep;
        return ep;
      }
    }
    return undefined;
  }

  private addrOf(s: string): number {
    let a = this.addrCache.get(s);
    if (a === undefined) {
      if (this.addrCache.size > 4096) this.addrCache.clear();
      a = ipv4ToU32(s);
      this.addrCache.set(s, a);
    }
    return a;
  }

  private nameOf(a: number): string {
    let s = this.nameCache.get(a);
    if (s === undefined) {
      if (this.nameCache.size > 4096) this.nameCache.clear();
      s = u32ToIpv4(a);
      this.nameCache.set(a, s);
    }
    return s;
  }

  /** @internal a TUN batch starts: data datagrams are collected into one sendmmsg. */
  beginTx(): void {
    this.txDepth++;
  }

  /** @internal */
  endTx(): void {
    if (--this.txDepth === 0) this.udpTx.flush();
  }

  /** @internal queue an IPv4 packet for a TUN; written at the end of the socket batch (or now). */
  queueTun(t: TxBatch, buf: Uint8Array, off: number, len: number): void {
    if (!this.inRx) {
      t.ch.sendOne(buf, off, len);
      return;
    }
    if (t.count === 0) this.dirty.push(t);
    t.add(buf, off, len, 0, 0);
  }

  private sendTo(buf: Uint8Array, off: number, len: number, peer: PeerAddress): void {
    if (this.closed) return;
    const addr = this.addrOf(peer.address);
    // Data (T=0) inside a TUN batch rides the batch; control (T=1) and lone frames go now.
    if (this.txDepth > 0 && (buf[off] & 0x80) === 0) this.udpTx.add(buf, off, len, addr, peer.port);
    else this.socket.sendOne(buf, off, len, addr, peer.port);
  }

  private fromUdp(n: number): void {
    const sock = this.socket;
    const meta = sock.rxMeta;
    const buf = sock.rx;
    const pk = this.peek;
    this.inRx = true;
    // Replies (PPP echo answers, ZLB acks) produced while receiving go out as one batch.
    this.beginTx();
    try {
      for (let i = 0; i < n; i++) {
        const j = i * META_WORDS;
        const off = meta[j];
        const len = meta[j + 1];
        const addr = meta[j + 2];
        const port = meta[j + 3];
        this.stats.datagrams++;
        const r = peekInto(buf, off, len, pk);
        let ep: L2tpEndpoint | undefined;
        if (r < 0) {
          this.stats.malformed++;
          ep = this.server ?? this.endpoints[0]; // it counts the header error by code
        } else if (pk.tunnelId === 0) ep = this.server;
        else ep = this.owner(pk.tunnelId) ?? this.server; // the server counts unknown tunnels
        if (!ep) {
          this.stats.unrouted++;
          continue;
        }
        if (r >= 0 && !pk.isControl) {
          const f = this.dataFrom;
          f.address = this.nameOf(addr);
          f.port = port;
          ep.receive(buf, off, len, f);
        } else ep.receive(buf, off, len, { address: this.nameOf(addr), port });
      }
    } finally {
      this.inRx = false;
      const d = this.dirty;
      for (let i = 0; i < d.length; i++) d[i].flush();
      d.length = 0;
      const t = this.touched;
      for (let i = 0; i < t.length; i++) t[i].endRx();
      t.length = 0;
      this.endTx();
    }
  }
}

export { L2tpPeekStatus };
