/**
 * PPTP server (pptpd's role, the PAC), sans-I/O: many control connections, each with its
 * calls, every call a GRE session plus a PPP Link.
 *
 *   TCP:  conn = accept({ peerAddress, onWrite, onClose }); conn.receive(chunk); conn.tcpClosed()
 *   GRE:  receiveGre(peerAddress, buf, off, len) from the GRE header on;  out: onGreWrite
 *   IP:   call.sendIp(buf, off, len) with PPTP_IP_HEADROOM;              out: onIp
 *
 * GRE demultiplexing (RFC 2637 §4.1): the Key of a received packet carries OUR Call ID,
 * which is unique across the whole server (several clients behind one NAT share a source
 * address, and may even pick the same Call IDs of their own), so the registry maps our
 * Call ID to the call and then checks the packet came from that call's peer address.
 */
import type { Clock } from '../clock.js';
import { ConfigError } from '../../errors.js';
import { PptpOcrpResult, PptpGeneralError, PptpStopReason, type OutgoingCallRequest } from '../../codec/pptp/index.js';
import { PptpControlConnection, type ControlCall, type OutgoingCallDecision, type PptpCollisionRegistry } from './control.js';
import { PptpCallSession, type CallStatusEvent, type GreTuning, type PppConfig } from './call.js';
import { CallIdAllocator } from './call-ids.js';

export interface PptpServerCallContext {
  /** Peer IPv4 address as an unsigned 32-bit number, and dotted. */
  peerAddress: number;
  peer: string;
  callId: number;
  request: OutgoingCallRequest;
}

export interface PptpServerOptions extends GreTuning {
  clock: Clock;
  /**
   * PPP settings for a new call (verifier, addresses from a pool, ...), or a refusal
   * (e.g. the pool is empty): { refuse: 'reason' }.
   */
  ppp: (ctx: PptpServerCallContext) => PppConfig | { refuse: string };
  hostName?: string;
  vendorName?: string;
  /** Calls per control connection (default 1, as pptpd). */
  maxChannels?: number;
  /** Calls on the whole server (default unlimited). */
  maxCalls?: number;
  idleWaitMs?: number;
  maxEchoWaitMs?: number;
  replyTimeoutMs?: number;
  lingerMs?: number;
  callIds?: CallIdAllocator;
  collisions?: PptpCollisionRegistry;
  /** A GRE packet for `peerAddress` (view: send or copy before returning). */
  onGreWrite: (peerAddress: number, buf: Uint8Array, off: number, len: number) => boolean | void;
  /** An IPv4 packet from a call's tunnel (view). */
  onIp: (call: PptpServerCall, buf: Uint8Array, off: number, len: number) => void;
  onCallStatus?: (call: PptpServerCall, e: CallStatusEvent) => void;
  log?: (line: string) => void;
}

export interface AcceptOptions {
  peerAddress: string | number;
  onWrite: (bytes: Uint8Array) => void;
  onClose: (reason: string) => void;
}

export interface PptpServerStats {
  connections: number;
  callsAccepted: number;
  callsRefused: number;
  /** GRE packets whose Key named no live call. */
  greNoCall: number;
  /** GRE packets for a live call from another address. */
  greWrongPeer: number;
  /** GRE packets too short to carry a Key. */
  greInvalid: number;
}

function toU32(a: string | number): number {
  if (typeof a === 'number') return a >>> 0;
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `not an IPv4 address: ${a}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function dotted(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** One call on the server. */
export class PptpServerCall {
  constructor(
    readonly connection: PptpServerConnection,
    readonly session: PptpCallSession,
    readonly peerAddress: number,
  ) {}

  get callId(): number {
    return this.session.call.localCallId;
  }
  get peerCallId(): number {
    return this.session.call.peerCallId;
  }
  get peer(): string {
    return dotted(this.peerAddress);
  }
  get status() {
    return this.session.status;
  }
  sendIp(buf: Uint8Array, off: number, len: number): boolean {
    return this.session.sendIp(buf, off, len);
  }
  sendIpCopy(ip: Uint8Array): boolean {
    return this.session.sendIpCopy(ip);
  }
  /** Hang up from the server: Set-Link-Info, LCP Terminate, Call-Disconnect-Notify, StopCCRQ. */
  hangup(reason = 'disconnected by administrator'): void {
    this.session.hangup(reason);
  }
}

/** One accepted TCP connection. */
export class PptpServerConnection {
  readonly control: PptpControlConnection;
  readonly calls = new Map<number, PptpServerCall>();

  constructor(
    private readonly server: PptpServer,
    readonly peerAddress: number,
    a: AcceptOptions,
    o: PptpServerOptions,
  ) {
    const lingerMs = o.lingerMs ?? 2000;
    this.control = new PptpControlConnection({
      role: 'server',
      clock: o.clock,
      hostName: o.hostName,
      vendorName: o.vendorName,
      maxChannels: o.maxChannels ?? 1,
      idleWaitMs: o.idleWaitMs,
      maxEchoWaitMs: o.maxEchoWaitMs,
      replyTimeoutMs: o.replyTimeoutMs,
      lingerMs,
      collisions: o.collisions,
      peerAddress: peerAddress,
      onWrite: a.onWrite,
      onClose: (reason) => {
        server.connectionClosed(this);
        a.onClose(reason);
      },
      onOutgoingCall: (req) => server.judgeCall(this, req),
      onCallUp: (call) => server.callUp(this, call, lingerMs),
      onCallDown: (call, reason) => {
        const c = this.calls.get(call.localCallId);
        if (c) c.session.callDown(reason);
      },
      log: o.log,
    });
    this.control.start();
  }

  receive(chunk: Uint8Array): void {
    this.control.receive(chunk);
  }

  tcpClosed(): void {
    this.control.tcpClosed();
  }

  get peer(): string {
    return dotted(this.peerAddress);
  }

  /** Fatal error below us: StopCCRQ (local shutdown) and close at once; calls go down. */
  abort(reason: string): void {
    this.control.fail(reason, PptpStopReason.StopLocalShutdown);
  }
}

export class PptpServer {
  readonly stats: PptpServerStats = { connections: 0, callsAccepted: 0, callsRefused: 0, greNoCall: 0, greWrongPeer: 0, greInvalid: 0 };
  readonly callIds: CallIdAllocator;
  private o: PptpServerOptions;
  private readonly byCallId = new Map<number, PptpServerCall>();
  private readonly connections = new Set<PptpServerConnection>();
  /** PPP configs decided in judgeCall, picked up in callUp. */
  private readonly pendingPpp = new Map<number, PppConfig>();

  constructor(o: PptpServerOptions) {
    this.o = o;
    this.callIds = o.callIds ?? new CallIdAllocator();
  }

  /**
   * New pptp(8) tuning (reorder time-out, nobuffer, echo waits): connections accepted and
   * calls set up from now on use it; running ones keep theirs.
   */
  setTuning(t: Pick<PptpServerOptions, 'reorderTimeoutMs' | 'nobuffer' | 'idleWaitMs' | 'maxEchoWaitMs'>): void {
    this.o = { ...this.o, ...t };
  }

  /** A TCP connection arrived on port 1723. */
  accept(a: AcceptOptions): PptpServerConnection {
    const conn = new PptpServerConnection(this, toU32(a.peerAddress), a, this.o);
    if (conn.control.state !== 'closed') {
      this.connections.add(conn);
      this.stats.connections++;
    }
    return conn;
  }

  /** A GRE packet from `peerAddress` (starting at the GRE header). False if no call took it. */
  receiveGre(peerAddress: number | string, buf: Uint8Array, off: number, len: number): boolean {
    if (len < 8 || off < 0 || off + len > buf.length) {
      this.stats.greInvalid++;
      return false;
    }
    const callId = (buf[off + 6] << 8) | buf[off + 7];
    const call = this.byCallId.get(callId);
    if (!call) {
      this.stats.greNoCall++;
      return false;
    }
    const peer = typeof peerAddress === 'number' ? peerAddress >>> 0 : toU32(peerAddress);
    if (call.peerAddress !== peer) {
      this.stats.greWrongPeer++;
      return false;
    }
    call.session.receiveGre(buf, off, len);
    return true;
  }

  /** The call with our Call ID `callId`. */
  call(callId: number): PptpServerCall | undefined {
    return this.byCallId.get(callId);
  }

  get calls(): PptpServerCall[] {
    return [...this.byCallId.values()];
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Shut down: every call hangs up (full teardown); connections without calls stop. */
  close(reason = 'server shutting down'): void {
    for (const conn of [...this.connections]) {
      if (conn.calls.size === 0) conn.control.stop(reason);
      else for (const c of conn.calls.values()) c.hangup(reason);
    }
  }

  // ---- used by PptpServerConnection ---------------------------------------------------------

  /** @internal */
  judgeCall(conn: PptpServerConnection, req: OutgoingCallRequest): OutgoingCallDecision {
    if (this.o.maxCalls !== undefined && this.byCallId.size >= this.o.maxCalls) {
      this.stats.callsRefused++;
      return { accept: false, resultCode: PptpOcrpResult.GeneralError, errorCode: PptpGeneralError.NoResource };
    }
    let callId: number;
    try {
      callId = this.callIds.allocate();
    } catch {
      this.stats.callsRefused++;
      return { accept: false, resultCode: PptpOcrpResult.GeneralError, errorCode: PptpGeneralError.NoResource };
    }
    const cfg = this.o.ppp({ peerAddress: conn.peerAddress, peer: conn.peer, callId, request: req });
    if ('refuse' in cfg) {
      this.callIds.release(callId);
      this.stats.callsRefused++;
      this.o.log?.(`refusing call from ${conn.peer}: ${cfg.refuse}`);
      return { accept: false, resultCode: PptpOcrpResult.GeneralError, errorCode: PptpGeneralError.NoResource };
    }
    this.pendingPpp.set(callId, cfg);
    return { accept: true, callId, window: this.o.window ?? 64 };
  }

  /** @internal */
  callUp(conn: PptpServerConnection, call: ControlCall, lingerMs: number): void {
    const ppp = this.pendingPpp.get(call.localCallId)!;
    this.pendingPpp.delete(call.localCallId);
    const peerAddress = conn.peerAddress;
    let sc: PptpServerCall | undefined;
    const session = new PptpCallSession({
      clock: this.o.clock,
      role: 'server',
      control: conn.control,
      call,
      ppp,
      gre: this.o,
      lingerMs,
      onGreWrite: (buf, off, len) => this.o.onGreWrite(peerAddress, buf, off, len),
      onIp: (buf, off, len) => this.o.onIp(sc!, buf, off, len),
      onStatus: (e) => {
        if (e.status === 'terminated') this.callGone(sc!);
        this.o.onCallStatus?.(sc!, e);
      },
      log: this.o.log,
    });
    sc = new PptpServerCall(conn, session, peerAddress);
    conn.calls.set(call.localCallId, sc);
    this.byCallId.set(call.localCallId, sc);
    this.stats.callsAccepted++;
    session.start();
  }

  /** @internal */
  connectionClosed(conn: PptpServerConnection): void {
    this.connections.delete(conn);
    for (const c of [...conn.calls.values()]) c.session.callDown(conn.control.reason ?? 'control connection closed');
  }

  private callGone(c: PptpServerCall): void {
    if (this.byCallId.get(c.callId) === c) {
      this.byCallId.delete(c.callId);
      this.callIds.release(c.callId);
    }
    c.connection.calls.delete(c.callId);
  }
}
