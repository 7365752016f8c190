/**
 * The packet engine: moves IP packets between TUN devices and the tunnel sockets
 * (L2TP data over a UdpSocket, PPTP enhanced GRE over a RawSocket) without
 * allocating per packet.
 *
 *  - Socket -> TUN: one socket batch is demultiplexed by key (L2TP tunnel/session ID,
 *    or PPTP peer address + Call ID) to a handler. A GRE packet goes through the
 *    protocol layer's GreSession (sequence numbers, acks, reordering: RFC 2637 §4.2-4.4,
 *    the same code the PPTP runtimes use). A Session strips the PPP header; IPv4/IPv6
 *    packets are queued for their TUN as (offset, length) pairs into the socket's rx
 *    buffer, and each TUN gets one send() per batch. Everything else (LCP, IPCP, CCP,
 *    auth, compressed data) goes to the session's onControl callback: the protocol layer.
 *  - TUN -> socket: the PPP header, then the L2TP data header or (GreSession) the GRE
 *    header, are written into the headroom in front of each packet in the TUN rx buffer
 *    and the batch leaves with one sendmmsg.
 *  - L2TP control messages (T=1) on the shared UDP port go to onL2tpControl.
 *
 * Views handed to callbacks are valid only during the call. No main-thread-only API
 * is used, so an Engine can live in a worker_thread.
 */
import type { Clock } from '../protocol/clock.js';
import { RealClock } from './real-clock.js';
import { IoError } from '../errors.js';
import { META_WORDS, type Channel, type RawSocket, type TunDevice, type UdpSocket } from './native.js';
import { MAX_BATCH, TxBatch } from './tx-batch.js';
import { ipv4ToU32 } from './ipv4.js';
import { createL2tpPeek, encodeDataHeaderInto, peekInto as peekL2tp, L2TP_DATA_HEADER_LENGTH } from '../codec/l2tp-peek.js';
import { GreSession as GreProtocol, type GreStats } from '../protocol/pptp/gre-session.js';

/** PPP protocol numbers the fast path knows (RFC 1332, RFC 5072). */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
/** Address/control of HDLC-like framing (RFC 1662 §3.1), kept by PPTP and L2TP unless ACFC. */
const PPP_ALLSTATIONS = 0xff;
const PPP_UI = 0x03;
/** FF 03 + 2-octet protocol written in front of every outbound IP packet. */
const PPP_HDR = 4;

/** Receives the L2TP data messages of one demux key. */
export interface DataHandler {
  /** buf[off, off+len) is the PPP frame (address/control still present if the peer sent them). */
  onData(buf: Uint8Array, off: number, len: number, srcAddr: number, srcPort: number): void;
}

/** Receives the GRE packets of one demux key (peer address + our Call ID). */
export interface GreHandler {
  /** buf[off, off+len) starts at the GRE header (the IPv4 header is stripped). */
  onGre(buf: Uint8Array, off: number, len: number): void;
}

/** Map from a numeric key to a handler; Map.get on a number does not allocate. */
export class Demux<H> {
  private readonly m = new Map<number, H>();
  register(key: number, h: H): void {
    if (this.m.has(key)) throw new IoError('IO_ERR_DEMUX_KEY_IN_USE', `demux key ${key} is already registered`);
    this.m.set(key, h);
  }
  unregister(key: number, h?: H): void {
    if (h === undefined || this.m.get(key) === h) this.m.delete(key);
  }
  get(key: number): H | undefined { return this.m.get(key); }
  get size(): number { return this.m.size; }
}

/** L2TP demux key: our tunnel ID and session ID (RFC 2661 §3.1). */
export function l2tpKey(tunnelId: number, sessionId: number): number {
  return tunnelId * 0x10000 + sessionId;
}

/** PPTP demux key: peer IPv4 address (host order) and our Call ID (RFC 2637 §4.1 Key field). */
export function greKey(peerAddr: number, callId: number): number {
  return peerAddr * 0x10000 + callId;
}

export interface SessionStats {
  rxPackets: number; rxBytes: number; txPackets: number; txBytes: number;
  rxControl: number; rxDropped: number; txDropped: number;
}

/** A PPP frame (protocol field + information) inside some buffer; reused, never allocated per packet. */
export interface FrameRef { off: number; len: number }

/** Most a txTransform may grow a frame toward the front (MPPE adds 0x00FD + 2 header octets). */
export const TX_TRANSFORM_GROWTH = 8;

interface SessionBase {
  /**
   * Every PPP frame that is not plain IPv4/IPv6 data (LCP, auth, NCPs, CCP, and
   * compressed/encrypted data 0x00FD): `protocol`, then its information field
   * buf[off, off+len). The protocol layer may decrypt 0x00FD in place and hand the
   * result back with Session.deliverToTun.
   */
  onControl?: (protocol: number, buf: Uint8Array, off: number, len: number) => void;
  /**
   * Outbound hook for IP packets from the TUN (e.g. MPPE): `ref` is the PPP frame
   * (protocol + IP packet); rewrite it in place, moving ref.off at most
   * TX_TRANSFORM_GROWTH octets toward the front, and return true, or false to drop.
   */
  txTransform?: (buf: Uint8Array, ref: FrameRef) => boolean;
  /** The attached TUN failed for good (e.g. deleted); the session stays registered. */
  onTunDown?: (errno: number) => void;
}

export interface L2tpSessionOptions extends SessionBase {
  transport: 'l2tp';
  /** Our IDs (what the peer puts in its data headers). */
  tunnelId: number; sessionId: number;
  /** The peer's IDs (what we put in ours). */
  peerTunnelId: number; peerSessionId: number;
  peerAddress: string; peerPort: number;
}

export interface GreSessionOptions extends SessionBase {
  transport: 'gre';
  /** Our Call ID (the peer's GRE Key Call ID) and the peer's Call ID (ours on send). */
  callId: number; peerCallId: number;
  peerAddress: string;
}

export class Session implements DataHandler, GreHandler {
  readonly transport: 'l2tp' | 'gre';
  readonly key: number;
  readonly peerAddr: number;
  readonly stats: SessionStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, rxControl: 0, rxDropped: 0, txDropped: 0 };
  onControl: (protocol: number, buf: Uint8Array, off: number, len: number) => void;
  onTunDown: (errno: number) => void;
  txTransform: ((buf: Uint8Array, ref: FrameRef) => boolean) | undefined;
  private readonly ref: FrameRef = { off: 0, len: 0 };
  private tun: TunDevice | undefined;
  private tunTx: TxBatch | undefined;
  private readonly peerPort: number;
  private readonly peerTunnelId: number;
  private readonly peerSessionId: number;
  /** GRE: the protocol layer's sequencing, acks and reordering for this call. */
  private readonly greProto: GreProtocol | undefined;
  /** The buffer of the TUN batch being sent: GRE packets framed in it join the batch's sendmmsg. */
  private txBuf: Uint8Array | undefined;
  private readonly scratch = new Uint8Array(64 + 4 + 1600);
  private closed = false;

  /** @internal use Engine.addSession */
  constructor(private readonly engine: Engine, o: L2tpSessionOptions | GreSessionOptions) {
    this.transport = o.transport;
    this.peerAddr = ipv4ToU32(o.peerAddress);
    this.onControl = o.onControl ?? (() => {});
    this.onTunDown = o.onTunDown ?? (() => {});
    this.txTransform = o.txTransform;
    if (o.transport === 'l2tp') {
      this.key = l2tpKey(o.tunnelId, o.sessionId);
      this.peerPort = o.peerPort;
      this.peerTunnelId = o.peerTunnelId;
      this.peerSessionId = o.peerSessionId;
    } else {
      this.key = greKey(this.peerAddr, o.callId);
      this.peerPort = 0;
      this.peerTunnelId = 0;
      this.peerSessionId = 0;
      // No call set-up here, so no negotiated window: the transmit window is not enforced.
      this.greProto = new GreProtocol({
        clock: engine.clock, localCallId: o.callId, peerCallId: o.peerCallId, peerWindow: 0, ackDelayMs: engine.ackDelay,
        onWrite: (b, off, len) => this.greWrite(b, off, len),
        onPayload: (b, off, len) => this.onData(b, off, len),
      });
    }
  }

  /** GRE: the protocol layer's counters for this call (pptp(8)'s STATISTICS). */
  get greStats(): GreStats | undefined { return this.greProto?.stats; }

  /** A whole GRE packet out of GreSession: into the TUN batch's sendmmsg when framed in it, else at once. */
  private greWrite(b: Uint8Array, off: number, len: number): boolean {
    const tx = this.engine.socketTx('gre');
    if (!tx) return false;
    if (b === this.txBuf) { tx.add(b, off, len, this.peerAddr, 0); return true; }
    // After what the batch queued: data leaves in sequence order.
    tx.flush();
    return this.engine.socketChannel('gre')!.sendOne(b, off, len, this.peerAddr, 0) === 1;
  }

  /** Bind a TUN device: its packets go out through this session, and inbound IP goes to it. */
  attachTun(tun: TunDevice): void {
    if (tun.tap) throw new IoError('IO_ERR_BAD_ARG', 'a TAP device carries Ethernet frames (BCP), not IP: attach a TUN');
    if (tun.headroom < 16 + PPP_HDR + TX_TRANSFORM_GROWTH) throw new IoError('IO_ERR_BAD_ARG', 'TUN headroom too small for the tunnel headers');
    this.detachTun();
    this.tun = tun;
    this.tunTx = this.engine.txFor(tun);
    tun.onBatch = (n) => this.fromTun(tun, n);
    tun.onDown = (e) => this.onTunDown(e);
  }

  detachTun(): void {
    if (!this.tun) return;
    this.tun.onBatch = () => {};
    this.tun.onDown = () => {};
    this.engine.releaseTx(this.tun);
    this.tun = undefined;
    this.tunTx = undefined;
  }

  get attachedTun(): TunDevice | undefined { return this.tun; }

  onGre(buf: Uint8Array, off: number, len: number): void {
    this.greProto!.receive(buf, off, len);
  }

  onData(buf: Uint8Array, off: number, len: number): void {
    let p = off;
    const end = off + len;
    if (len >= 2 && buf[p] === PPP_ALLSTATIONS && buf[p + 1] === PPP_UI) p += 2;
    if (p >= end) { this.stats.rxDropped++; return; }
    let proto: number;
    // RFC 1661 §6.5 (PFC): an odd first octet is a one-octet protocol field.
    if (buf[p] & 1) { proto = buf[p]; p += 1; } else {
      if (p + 2 > end) { this.stats.rxDropped++; return; }
      proto = (buf[p] << 8) | buf[p + 1]; p += 2;
    }
    if ((proto === PPP_IPV4 || proto === PPP_IPV6) && this.tunTx) {
      this.deliverToTun(buf, p, end - p);
      return;
    }
    this.stats.rxControl++;
    this.onControl(proto, buf, p, end - p);
  }

  /** TUN batch -> tunnel: headers go into each packet's headroom; one send for the batch. */
  private fromTun(tun: TunDevice, n: number): void {
    const meta = tun.rxMeta;
    const buf = tun.rx;
    const sock = this.engine.socketTx(this.transport);
    if (!sock) { this.stats.txDropped += n; return; }
    const ref = this.ref;
    const xf = this.txTransform;
    for (let i = 0; i < n; i++) {
      const off = meta[i * META_WORDS];
      const len = meta[i * META_WORDS + 1];
      const v = buf[off] >> 4;
      const proto = v === 4 ? PPP_IPV4 : v === 6 ? PPP_IPV6 : 0;
      if (proto === 0) { this.stats.txDropped++; continue; }
      buf[off - 2] = proto >>> 8;
      buf[off - 1] = proto & 0xff;
      ref.off = off - 2;
      ref.len = len + 2;
      if (xf && (!xf(buf, ref) || ref.off < off - 2 - TX_TRANSFORM_GROWTH || ref.len < 1)) { this.stats.txDropped++; continue; }
      this.txBuf = buf;
      if (!this.frame(buf, ref.off, ref.len, sock)) { this.stats.txDropped++; continue; }
      this.stats.txPackets++;
      this.stats.txBytes += len;
    }
    this.txBuf = undefined;
    sock.flush();
  }

  /**
   * buf[p, p+len) is a PPP frame (protocol + info): writes FF 03 before it, then the L2TP
   * data header (queued on `tx`) or, for GRE, hands it to GreSession, which writes its
   * header and sends through greWrite. False: GreSession did not take it.
   */
  private frame(buf: Uint8Array, p: number, len: number, tx: TxBatch): boolean {
    buf[p - 2] = PPP_ALLSTATIONS; buf[p - 1] = PPP_UI;
    if (this.greProto) return this.greProto.sendInPlace(buf, p - 2, len + 2);
    const h = p - 2 - L2TP_DATA_HEADER_LENGTH;
    encodeDataHeaderInto(buf, h, this.peerTunnelId, this.peerSessionId);
    tx.add(buf, h, p + len - h, this.peerAddr, this.peerPort);
    return true;
  }

  /** Sends one PPP frame (LCP, IPCP, ...) with `protocol` and information field `info`. */
  sendControl(protocol: number, info: Uint8Array): void {
    if (info.length > this.scratch.length - 64 - 2) throw new IoError('IO_ERR_BAD_ARG', 'PPP frame too large');
    const s = this.scratch;
    s[64] = protocol >>> 8;
    s[65] = protocol & 0xff;
    s.set(info, 66);
    this.sendScratch(info.length + 2);
  }

  /** Sends a ready PPP frame that starts with its protocol field (e.g. an MPPE packet built by the protocol layer). */
  sendFrame(frame: Uint8Array): void {
    if (frame.length < 1 || frame.length > this.scratch.length - 64) throw new IoError('IO_ERR_BAD_ARG', 'PPP frame size out of range');
    this.scratch.set(frame, 64);
    this.sendScratch(frame.length);
  }

  private sendScratch(len: number): void {
    if (this.closed) return;
    const tx = this.engine.socketTx(this.transport);
    if (!tx) { this.stats.txDropped++; return; }
    // Not a TUN batch's buffer: queued L2TP leaves at once, GRE goes through greWrite's direct send.
    if (!this.frame(this.scratch, 64, len, tx)) this.stats.txDropped++;
    tx.flush();
  }

  /**
   * Hands an IP packet to the attached TUN, e.g. after decrypting an MPPE frame in
   * place. Inside a socket batch it joins that batch's single TUN write (so buf must
   * stay untouched until the batch ends; the rx buffer itself is fine); outside one
   * it is written at once.
   */
  deliverToTun(buf: Uint8Array, off: number, len: number): void {
    if (!this.tunTx || !this.tun) { this.stats.rxDropped++; return; }
    this.stats.rxPackets++;
    this.stats.rxBytes += len;
    // Only views of the socket batch's rx buffer may wait for its end: anything else (a
    // GRE reorder slot released by a timer or reused within the batch) is written now,
    // after what the batch queued before it, so a drained slot cannot overtake
    // the packet that filled its gap.
    if (this.engine.inBatch && buf === this.engine.rxBuf) this.engine.queueTun(this.tunTx, buf, off, len);
    else { this.tunTx.flush(); this.tun.sendOne(buf, off, len); }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.greProto?.close();
    this.detachTun();
    this.engine.removeSession(this);
  }
}

export interface EngineOptions {
  clock?: Clock;
  /** How long a GRE ack may wait for outbound data to ride on before it goes alone (ms, default 20; GreSession acks at once when half its window is unacknowledged). */
  ackDelayMs?: number;
}

export interface EngineStats { l2tpUnknown: number; greUnknown: number; malformed: number }

export class Engine {
  /** Data handlers by l2tpKey(tunnelId, sessionId). */
  readonly l2tp = new Demux<DataHandler>();
  /** GRE handlers by greKey(peerAddr, callId). */
  readonly gre = new Demux<GreHandler>();
  /** L2TP control messages (T=1) arriving on the shared UDP port, whole. */
  onL2tpControl: (buf: Uint8Array, off: number, len: number, srcAddr: number, srcPort: number) => void = () => {};
  readonly stats: EngineStats = { l2tpUnknown: 0, greUnknown: 0, malformed: 0 };
  private udp: UdpSocket | undefined;
  private raw: RawSocket | undefined;
  private udpTx: TxBatch | undefined;
  private rawTx: TxBatch | undefined;
  private readonly tunTx = new Map<Channel, TxBatch>();
  private readonly dirty: TxBatch[] = [];
  private readonly l2tpPeek = createL2tpPeek();
  /** @internal */ readonly clock: Clock;
  /** @internal */ readonly ackDelay: number;
  private readonly sessions = new Set<Session>();
  /** @internal true while a socket batch is being demultiplexed. */
  inBatch = false;
  /** @internal the rx buffer of that batch. */
  rxBuf: Uint8Array | undefined;

  constructor(opts: EngineOptions = {}) {
    this.clock = opts.clock ?? new RealClock();
    this.ackDelay = opts.ackDelayMs ?? 20;
  }

  /** Use `sock` for L2TP (control and data on one port). */
  attachUdp(sock: UdpSocket): void {
    this.udp = sock;
    this.udpTx = new TxBatch(sock);
    sock.onBatch = (n) => this.fromUdp(sock, n);
  }

  /** Use `sock` (a RawSocket for protocol 47) for PPTP data. */
  attachGre(sock: RawSocket): void {
    this.raw = sock;
    this.rawTx = new TxBatch(sock);
    sock.onBatch = (n) => this.fromGre(sock, n);
  }

  addSession(o: L2tpSessionOptions | GreSessionOptions): Session {
    const s = new Session(this, o);
    (o.transport === 'l2tp' ? this.l2tp : this.gre).register(s.key, s);
    this.sessions.add(s);
    return s;
  }

  /** @internal */
  removeSession(s: Session): void {
    (s.transport === 'l2tp' ? this.l2tp : this.gre).unregister(s.key, s);
    this.sessions.delete(s);
  }

  /** @internal */
  txFor(tun: TunDevice): TxBatch {
    let t = this.tunTx.get(tun);
    if (!t) { t = new TxBatch(tun); this.tunTx.set(tun, t); }
    return t;
  }

  /** @internal */
  releaseTx(tun: TunDevice): void {
    const t = this.tunTx.get(tun);
    if (t) { t.flush(); this.tunTx.delete(tun); }
  }

  /** @internal */
  socketTx(transport: 'l2tp' | 'gre'): TxBatch | undefined {
    return transport === 'l2tp' ? this.udpTx : this.rawTx;
  }

  /** @internal */
  socketChannel(transport: 'l2tp' | 'gre'): Channel | undefined {
    return transport === 'l2tp' ? this.udp : this.raw;
  }

  /** @internal */
  queueTun(t: TxBatch, buf: Uint8Array, off: number, len: number): void {
    if (t.count === 0) this.dirty.push(t);
    t.add(buf, off, len, 0, 0);
  }

  private flushTuns(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) d[i].flush();
    d.length = 0;
  }

  private fromUdp(sock: UdpSocket, n: number): void {
    const meta = sock.rxMeta;
    const buf = sock.rx;
    const pk = this.l2tpPeek;
    this.inBatch = true;
    this.rxBuf = buf;
    try {
      for (let i = 0; i < n; i++) {
        const j = i * META_WORDS;
        const off = meta[j], len = meta[j + 1], addr = meta[j + 2], port = meta[j + 3];
        const r = peekL2tp(buf, off, len, pk);
        if (r < 0) { this.stats.malformed++; continue; }
        if (pk.isControl) { this.onL2tpControl(buf, off, len, addr, port); continue; }
        const h = this.l2tp.get(l2tpKey(pk.tunnelId, pk.sessionId));
        if (!h) { this.stats.l2tpUnknown++; continue; }
        h.onData(buf, off + r, pk.payloadLength, addr, port);
      }
    } finally {
      // Even if a handler threw, what was queued goes out and the next batch starts clean.
      this.inBatch = false;
      this.rxBuf = undefined;
      this.flushTuns();
    }
  }

  private fromGre(sock: RawSocket, n: number): void {
    const meta = sock.rxMeta;
    const buf = sock.rx;
    this.inBatch = true;
    this.rxBuf = buf;
    try {
      for (let i = 0; i < n; i++) {
        const j = i * META_WORDS;
        const off = meta[j], len = meta[j + 1], addr = meta[j + 2];
        // Raw IPv4 sockets deliver the IP header: skip IHL words. Less than the 8 octets
        // every enhanced GRE header has (RFC 2637 §4.1) after it is not GRE; the rest of
        // the header is GreSession's to judge (and count).
        const ihl = (buf[off] & 15) * 4;
        if (ihl < 20 || len - ihl < 8) { this.stats.malformed++; continue; }
        // Key, low half: the Call ID.
        const g = off + ihl;
        const h = this.gre.get(greKey(addr, (buf[g + 6] << 8) | buf[g + 7]));
        if (!h) { this.stats.greUnknown++; continue; }
        h.onGre(buf, g, len - ihl);
      }
    } finally {
      this.inBatch = false;
      this.rxBuf = undefined;
      this.flushTuns();
    }
  }

  /** Detach from sockets and TUNs (it does not close them: the caller owns them). */
  close(): void {
    for (const s of [...this.sessions]) s.close();
    if (this.udp) this.udp.onBatch = () => {};
    if (this.raw) this.raw.onBatch = () => {};
    this.udp = this.raw = undefined;
    this.udpTx = this.rawTx = undefined;
    this.tunTx.clear();
  }
}
