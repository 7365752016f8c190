/**
 * The L2TP side of one UDP socket, sans-I/O: routes every received datagram to its tunnel
 * by Tunnel ID (never by source address: a peer may move its port, §8.1), creates
 * responder tunnels for new SCCRQs, resolves SCCRQ collisions with the Tie Breaker
 * (§4.4.3), and counts what it drops, per reason. `receive` never throws.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { createL2tpHeader, l2tpHeaderErrorCode, L2TP_UDP_PORT, tryDecodeHeaderInto } from '../../codec/l2tp/header.js';
import { decodeControlMessage, L2tpMessageError, type L2tpControl } from '../../codec/l2tp/message.js';
import { L2tpMessageType } from '../../codec/l2tp/message-types.js';
import type { Secret } from '../../codec/l2tp/hidden.js';
import { CodecError } from '../../errors.js';
import type { SessionRole } from './session.js';
import { L2tpTunnel, validateTunnelOptions, type PeerAddress, type SendFn, type TunnelOptions } from './tunnel.js';

export interface EndpointOptions {
  clock: Clock;
  role: SessionRole;
  hostName: string;
  vendorName?: string;
  secret?: Secret;
  hideAvps?: boolean;
  /** Accept SCCRQs from peers (a server); an LAC that only dials out leaves this off. */
  acceptTunnels?: boolean;
  /** Send a Tie Breaker AVP in our SCCRQs (§4.4.3). */
  tieBreaker?: boolean;
  /** Passed to every tunnel. */
  tunnel?: Pick<TunnelOptions, 'receiveWindow' | 'helloInterval' | 'retries' | 'initialRtoMs' | 'maxRtoMs' | 'ackDelayMs' | 'sequencing' | 'sequencingRequired' | 'dataLengthBit' | 'maxSessions'>;
  randomBytes?: (n: number) => Uint8Array;
  send: SendFn;
  log?: (line: string) => void;
}

export type EndpointEvents = {
  /** A responder tunnel was created for a peer's SCCRQ. */
  tunnel: [tunnel: L2tpTunnel];
};

/** Reasons a datagram was dropped before reaching a tunnel. */
export interface EndpointCounters {
  received: number;
  /** Header errors by code (L2TP_ERR_TRUNCATED, L2TP_ERR_VERSION_L2F, ...). */
  header: Record<string, number>;
  unknownTunnel: number;
  /** A message for Tunnel ID 0 that is not a usable SCCRQ. */
  badSccrq: Record<string, number>;
  tieBreakerLost: number;
  tieBreakerDropped: number;
  internalErrors: number;
}

/** Every drop reason, endpoint and tunnels together, closed tunnels included (for metrics). */
export interface L2tpDropStats {
  /** Flat "reason -> count", e.g. { 'header.L2TP_ERR_VERSION_L2F': 1, unknownTunnel: 3, nsOutOfWindow: 2 }. */
  drops: Record<string, number>;
  retransmissions: number;
  tunnelsOpened: number;
  tunnelsClosed: number;
}

function tieCompare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export class L2tpEndpoint extends EventEmitter<EndpointEvents> {
  readonly tunnels = new Map<number, L2tpTunnel>();
  readonly counters: EndpointCounters = { received: 0, header: {}, unknownTunnel: 0, badSccrq: {}, tieBreakerLost: 0, tieBreakerDropped: 0, internalErrors: 0 };

  private readonly o: EndpointOptions;
  private readonly rnd: (n: number) => Uint8Array;
  private readonly hdr = createL2tpHeader();
  /** Responder tunnels by "address|port|peer tunnel ID", to recognise retransmitted SCCRQs. */
  private readonly byPeerKey = new Map<string, L2tpTunnel>();
  /** Counters of tunnels already gone. */
  private readonly retired: L2tpDropStats = { drops: {}, retransmissions: 0, tunnelsOpened: 0, tunnelsClosed: 0 };

  constructor(o: EndpointOptions) {
    super();
    this.o = o;
    this.rnd = o.randomBytes ?? ((n) => new Uint8Array(randomBytes(n)));
    // Refuse bad settings at start-up, not when the first peer calls.
    validateTunnelOptions({ ...o.tunnel, hostName: o.hostName });
  }

  /** Open a tunnel to `peer` (UDP 1701 unless given) and send SCCRQ. */
  connect(peer: { address: string; port?: number }): L2tpTunnel {
    const t = this.makeTunnel({ address: peer.address, port: peer.port ?? L2TP_UDP_PORT }, this.o.tieBreaker ? this.rnd(8) : undefined);
    t.connect();
    return t;
  }

  /** One UDP datagram from `from`. Never throws. */
  receive(buf: Uint8Array, off: number, len: number, from: PeerAddress): void {
    try {
      this.receiveInner(buf, off, len, from);
    } catch (e) {
      this.counters.internalErrors++;
      this.log(`internal error on receive: ${(e as Error)?.message}`);
    }
  }

  /** Drop counters per reason across the endpoint and all its tunnels, past and present. */
  stats(): L2tpDropStats {
    const r: L2tpDropStats = { drops: { ...this.retired.drops }, retransmissions: this.retired.retransmissions, tunnelsOpened: this.retired.tunnelsOpened, tunnelsClosed: this.retired.tunnelsClosed };
    const add = (k: string, n: number) => {
      if (n) r.drops[k] = (r.drops[k] ?? 0) + n;
    };
    const c = this.counters;
    for (const [k, n] of Object.entries(c.header)) add(`header.${k}`, n);
    for (const [k, n] of Object.entries(c.badSccrq)) add(`badSccrq.${k}`, n);
    add('unknownTunnel', c.unknownTunnel);
    add('tieBreakerDropped', c.tieBreakerDropped);
    add('internalErrors', c.internalErrors);
    for (const t of this.tunnels.values()) L2tpEndpoint.addTunnel(r, t);
    return r;
  }

  private static addTunnel(r: L2tpDropStats, t: L2tpTunnel): void {
    const add = (k: string, n: number) => {
      if (n) r.drops[k] = (r.drops[k] ?? 0) + n;
    };
    const c = t.counters;
    add('duplicates', c.duplicates);
    add('nsOutOfWindow', c.nsOutOfWindow);
    add('badNr', c.badNr);
    add('unknownSession', c.unknownSession);
    add('fsmErrors', c.fsmErrors);
    add('unknownAvpsIgnored', c.unknownAvpsIgnored);
    for (const [k, n] of Object.entries(c.decodeErrors)) add(`decode.${k}`, n);
    const d = c.closedSessionDataDrops;
    add('data.sequence', d.sequence);
    add('data.notReady', d.notReady);
    add('data.headroom', d.headroom);
    for (const s of t.sessions.values()) {
      add('data.sequence', s.stats.drops.sequence);
      add('data.notReady', s.stats.drops.notReady);
      add('data.headroom', s.stats.drops.headroom);
    }
    r.retransmissions += t.transport.retransmissions;
  }

  /** Discard every tunnel (daemon shutdown without goodbye); prefer closing them first. */
  destroy(): void {
    for (const t of [...this.tunnels.values()]) t.discard('endpoint destroyed');
  }

  // ---- internals ----------------------------------------------------------------------------

  private receiveInner(buf: Uint8Array, off: number, len: number, from: PeerAddress): void {
    this.counters.received++;
    const h = this.hdr;
    const r = tryDecodeHeaderInto(buf, off, len, h);
    if (r < 0) {
      // Includes Ver 1 (L2F) and Ver 3: silently dropped, counted by code.
      const code = l2tpHeaderErrorCode(r);
      this.counters.header[code] = (this.counters.header[code] ?? 0) + 1;
      return;
    }
    if (!h.isControl) {
      const t = this.tunnels.get(h.tunnelId);
      if (t === undefined) {
        this.counters.unknownTunnel++;
        return;
      }
      t.receiveData(buf, off, h);
      return;
    }
    // Control: hand over exactly the message (octets past Length are not part of it).
    const msg = off === 0 && h.length === buf.length ? buf : buf.subarray(off, off + h.length);
    if (h.tunnelId !== 0) {
      const t = this.tunnels.get(h.tunnelId);
      if (t === undefined) {
        this.counters.unknownTunnel++;
        return;
      }
      t.receiveControl(msg, h, from);
      return;
    }
    this.receiveSccrq(msg, from);
  }

  private badSccrq(code: string): void {
    this.counters.badSccrq[code] = (this.counters.badSccrq[code] ?? 0) + 1;
  }

  private receiveSccrq(msg: Uint8Array, from: PeerAddress): void {
    const h = this.hdr;
    if (h.payloadLength === 0) return this.badSccrq('ZLB');
    let m: L2tpControl;
    try {
      const d = decodeControlMessage(msg, { secret: this.o.secret });
      if (d.zlb) return this.badSccrq('ZLB');
      m = d;
    } catch (e) {
      // Without a decodable SCCRQ there is no tunnel to answer from: count and drop.
      return this.badSccrq(e instanceof L2tpMessageError || e instanceof CodecError ? e.code : 'INTERNAL');
    }
    if (m.messageType !== L2tpMessageType.SCCRQ) return this.badSccrq('NOT_SCCRQ');
    const peerTid = m.avps.assignedTunnelId;
    if (!peerTid) return this.badSccrq('NO_ASSIGNED_TUNNEL_ID');
    const key = `${from.address}|${from.port}|${peerTid}`;
    const existing = this.byPeerKey.get(key);
    if (existing !== undefined && existing.state !== 'closed' && existing.state !== 'closing') {
      // A retransmitted SCCRQ: the tunnel's transport acknowledges it as a duplicate.
      // (A tunnel in its post-StopCCN hold is over: an SCCRQ then is a redial.)
      existing.receiveControl(msg, h, from);
      return;
    }
    if (!this.o.acceptTunnels && !this.hasOutstandingSccrq(from)) return this.badSccrq('NOT_ACCEPTING');
    // §4.4.3 collision: did we send an SCCRQ to this peer that is still unanswered?
    for (const ours of this.tunnels.values()) {
      if (!ours.initiator || ours.state !== 'wait-ctl-reply' || ours.peer.address !== from.address) continue;
      const theirs = m.avps.tieBreaker;
      const mine = ours.tieBreaker;
      if (theirs === undefined && mine === undefined) continue; // two tunnels then
      let weLose: boolean;
      let bothLose = false;
      if (mine === undefined) weLose = true;
      else if (theirs === undefined) weLose = false;
      else {
        const c = tieCompare(mine, theirs);
        bothLose = c === 0;
        weLose = c > 0; // "The lower value wins"
      }
      if (bothLose) {
        this.counters.tieBreakerLost++;
        this.counters.tieBreakerDropped++;
        ours.discard('tie breaker: equal values, both tunnels discarded');
        return;
      }
      if (!weLose) {
        // We win: the peer discards its tunnel; ignore its SCCRQ silently.
        this.counters.tieBreakerDropped++;
        return;
      }
      this.counters.tieBreakerLost++;
      ours.discard('tie breaker lost: using the peer\'s tunnel');
    }
    const t = this.makeTunnel(from, undefined);
    this.byPeerKey.set(key, t);
    t.once('closed', () => {
      if (this.byPeerKey.get(key) === t) this.byPeerKey.delete(key);
    });
    this.emit('tunnel', t);
    t.receiveControl(msg, h, from);
  }

  private hasOutstandingSccrq(from: PeerAddress): boolean {
    for (const t of this.tunnels.values()) if (t.initiator && t.state === 'wait-ctl-reply' && t.peer.address === from.address) return true;
    return false;
  }

  private makeTunnel(peer: PeerAddress, tieBreaker: Uint8Array | undefined): L2tpTunnel {
    const t = new L2tpTunnel({
      ...this.o.tunnel,
      clock: this.o.clock,
      role: this.o.role,
      localTunnelId: this.allocateTunnelId(),
      peer,
      hostName: this.o.hostName,
      vendorName: this.o.vendorName,
      secret: this.o.secret,
      hideAvps: this.o.hideAvps,
      tieBreaker,
      randomBytes: this.o.randomBytes,
      send: this.o.send,
      log: this.o.log,
    });
    this.tunnels.set(t.localTunnelId, t);
    this.retired.tunnelsOpened++;
    t.once('closed', () => {
      if (this.tunnels.get(t.localTunnelId) === t) this.tunnels.delete(t.localTunnelId);
      L2tpEndpoint.addTunnel(this.retired, t);
      this.retired.tunnelsClosed++;
    });
    return t;
  }

  private allocateTunnelId(): number {
    for (let i = 0; i < 64; i++) {
      const b = this.rnd(2);
      const id = (b[0] << 8) | b[1];
      if (id !== 0 && !this.tunnels.has(id)) return id;
    }
    for (let id = 1; id <= 0xffff; id++) if (!this.tunnels.has(id)) return id;
    throw new CodecError('L2TP_ERR_NO_TUNNEL_ID', 'all 65535 tunnel IDs are in use');
  }

  private log(line: string): void {
    this.o.log?.(`l2tp: ${line}`);
  }
}
