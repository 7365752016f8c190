/**
 * One PPP session, sans-I/O: LCP, authentication, IPCP and CCP/MPPE over frames as a
 * tunnel carries them (GRE for PPTP, L2TP data messages). The io layer feeds received
 * frames to `receiveFrame` and transmits what `onFrame` hands it; IPv4 packets go in
 * through `wrapData` (in place, allocation-free) or `sendData`, and come out of `onData`.
 *
 * Phases follow RFC 1661 §3.2: dead -> establish -> authenticate -> network -> running,
 * and terminate on the way down.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import { Code, PppProtocol, protocolName } from '../../codec/ppp/protocols.js';
import * as frame from '../../codec/ppp/frame.js';
import * as packet from '../../codec/ppp/packet.js';
import { CodecError, ConfigError } from '../../errors.js';
import { AUTH_STRENGTH_ORDER, type AuthCallbacks, type AuthMethod, type AuthResult, type AuthVerifier } from './auth/types.js';
import { createAuthClient, createAuthServer } from './auth/index.js';
import { MPPE_OVERHEAD, MppeSession } from './mppe.js';
import { Fsm, State, type FsmHandler } from './fsm.js';
import { Negotiator } from './negotiator.js';
import type { NegotiationContext } from './options/types.js';
import { DEFAULT_MRU, type LcpContext } from './options/lcp-context.js';
import * as lcpMru from './options/lcp-mru.js';
import * as lcpAccm from './options/lcp-accm.js';
import * as lcpAuth from './options/lcp-auth.js';
import * as lcpMagic from './options/lcp-magic.js';
import * as lcpPfc from './options/lcp-pfc.js';
import * as lcpAcfc from './options/lcp-acfc.js';
import * as lcpMrru from './options/lcp-mrru.js';
import * as lcpEndpoint from './options/lcp-endpoint.js';
import { formatIPv4, parseIPv4, type IpcpContext } from './options/ipcp-context.js';
import * as ipcpAddress from './options/ipcp-address.js';
import * as ipcpDns from './options/ipcp-dns.js';
import * as ipcpNbns from './options/ipcp-nbns.js';
import * as ipcpVj from './options/ipcp-vj.js';
import type { CcpContext, MppeBits, MppeMode, UseEncryption } from './options/ccp-context.js';
import * as ccpMppe from './options/ccp-mppe.js';

export type Role = 'client' | 'server';
export type Phase = 'dead' | 'establish' | 'authenticate' | 'network' | 'running' | 'terminate';

/** Octets wrapData needs in front of the IPv4 packet: FF 03 00 FD + MPPE header + inner protocol. */
export const DATA_HEADROOM = 8;

export const REASON = {
  AUTH_FAILED: 'authentication failed',
  REFUSED_ALL: lcpAuth.REFUSED_ALL,
  LOOPBACK: lcpMagic.LOOPBACK,
  ECHO: 'LCP missed echo reply',
  MPPE_REFUSED: ccpMppe.REFUSED,
  MPPE_UNAVAILABLE: 'encryption required but the authentication method gives no MPPE keys',
  MPPE_ASYMMETRIC: 'asymmetric MPPE is not supported',
  LCP_TIMEOUT: 'LCP negotiation failed (no answer)',
  IPCP_FAILED: 'IPCP negotiation failed',
  NO_ADDRESS: 'no local IP address assigned by peer',
  PEER_TERMINATED: 'terminated by peer',
  CLOSED: 'closed by administrator',
} as const;

/** The auth layer's constructors (src/protocol/ppp/auth/index.ts); injectable for tests. */
export interface AuthFactory {
  createClient(method: AuthMethod, o: AuthCallbacks & { user: string; password: string }): AuthSession;
  createServer(method: AuthMethod, o: AuthCallbacks & { name: string; verifier: AuthVerifier }): AuthSession;
}

/** RouterOS `monitor` status for the PPP part of a connection (seeds: pptp-client monitor). */
export function statusOf(phase: Phase): 'dialing' | 'verifying password...' | 'connected' | 'terminated' {
  switch (phase) {
    case 'establish':
      return 'dialing';
    case 'authenticate':
    case 'network':
      return 'verifying password...';
    case 'running':
      return 'connected';
    default:
      return 'terminated';
  }
}

export interface LinkInfo {
  role: Role;
  phase: Phase;
  /** RouterOS monitor status: dialing, verifying password..., connected, terminated. */
  status: ReturnType<typeof statusOf>;
  user?: string;
  authMethod?: AuthMethod;
  localAddress: string;
  remoteAddress: string;
  dns: string[];
  nbns: string[];
  mtu: number;
  mru: number;
  /** The peer's MRRU when multilink was negotiated (both sides configured mrru). */
  mrru?: number;
  /** RouterOS `encoding`: "MPPE128 stateless", "MPPE40 stateful", "none". */
  encoding: string;
  uptimeMs: number;
  idleMs: number;
  reason?: string;
}

export interface LinkStats {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  dataIn: number;
  dataOut: number;
  echoRequestsSent: number;
  echoRepliesReceived: number;
  drops: {
    tooLong: number;
    badFraming: number;
    unknownProtocol: number;
    cleartext: number;
    decryptFailed: number;
    notReady: number;
  };
}

export interface LinkConfig {
  role: Role;
  clock: Clock;
  /** Uniform random 32-bit values (Magic-Number); default node:crypto. Tests pass a seeded PRNG. */
  random?: () => number;
  /** Client credentials. */
  user?: string;
  password?: string;
  /** Client: methods it accepts (RouterOS `allow`), default all four. */
  allow?: readonly AuthMethod[];
  /** Server: methods it offers (RouterOS `authentication`), default mschap2,mschap1. */
  authentication?: readonly AuthMethod[];
  verifier?: AuthVerifier;
  /** Server's CHAP name. */
  name?: string;
  /** Profile's use-encryption (RouterOS `default` profile: no; `default-encryption`: yes). */
  useEncryption?: UseEncryption;
  /** MPPE key lengths we accept, default [128, 40]. */
  mppeBits?: readonly MppeBits[];
  /** MPPE key-change mode we accept, default stateless (what pppd and Windows use). */
  mppeMode?: MppeMode;
  maxMtu?: number;
  maxMru?: number;
  mrru?: number;
  endpoint?: { klass: number; address: Uint8Array };
  requestPfc?: boolean;
  requestAcfc?: boolean;
  /** Seconds of silence before LCP echoes start; 0 disables. Default 60 (client) / 30 (server). */
  keepaliveTimeout?: number;
  /** Server: its own address and the one it assigns; DNS/NBNS handed out. */
  localAddress?: string;
  remoteAddress?: string;
  dns?: readonly string[];
  nbns?: readonly string[];
  /** Client: ask the server for DNS (RouterOS use-peer-dns). */
  usePeerDns?: boolean;
  restartMs?: number;
  maxConfigure?: number;
  maxTerminate?: number;
  maxFailure?: number;
  auth?: AuthFactory;

  onFrame: (frame: Uint8Array) => void;
  onData?: (buf: Uint8Array, off: number, len: number) => void;
  onPhase?: (phase: Phase) => void;
  onUp?: (info: LinkInfo) => void;
  onDown?: (reason: string) => void;
  /** Human log lines; never carry a secret. */
  log?: (line: string) => void;
}

export interface AuthSession {
  start(): void;
  receive(protocol: number, payload: Uint8Array): void;
  stop(): void;
}

const ECHO_INTERVAL_MS = 1000;
const ECHO_COUNT = 5;
const ALL_METHODS: readonly AuthMethod[] = ['mschap2', 'mschap1', 'chap', 'pap'];

function defaultRandom(): number {
  return randomBytes(4).readUInt32BE(0);
}

function printable(data: Uint8Array): string | undefined {
  if (data.length === 0 || data.length > 200) return undefined;
  for (const b of data) if (b < 0x20 || b > 0x7e) return undefined;
  return new TextDecoder().decode(data);
}

function address(field: string, v: string): number {
  try {
    return parseIPv4(v);
  } catch {
    throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `${field} ${JSON.stringify(v)}: expected an IPv4 address`);
  }
}

/** Reject bad configuration up front, naming the field and what it accepts. */
function validate(cfg: LinkConfig): void {
  const bad = (field: string, v: unknown, accepts: string) => {
    throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `${field} ${JSON.stringify(v)}: expected ${accepts}`);
  };
  if (cfg.role !== 'client' && cfg.role !== 'server') bad('role', cfg.role, 'client or server');
  for (const [field, list] of [['allow', cfg.allow], ['authentication', cfg.authentication]] as const) {
    for (const m of list ?? []) if (!ALL_METHODS.includes(m)) bad(field, m, 'pap, chap, mschap1 or mschap2');
  }
  if (cfg.useEncryption !== undefined && !['no', 'yes', 'required'].includes(cfg.useEncryption)) bad('use-encryption', cfg.useEncryption, 'no, yes or required');
  for (const b of cfg.mppeBits ?? []) if (b !== 40 && b !== 56 && b !== 128) bad('mppe bits', b, '40, 56 or 128');
  if (cfg.mppeMode !== undefined && !['stateless', 'stateful', 'either'].includes(cfg.mppeMode)) bad('mppe mode', cfg.mppeMode, 'stateless, stateful or either');
  const ka = cfg.keepaliveTimeout;
  if (ka !== undefined && (!Number.isFinite(ka) || ka < 0 || ka > 4294967295)) bad('keepalive-timeout', ka, 'seconds, 0..4294967295 (0 disables)');
  if (cfg.localAddress !== undefined) address('local-address', cfg.localAddress);
  if (cfg.remoteAddress !== undefined) address('remote-address', cfg.remoteAddress);
  for (const d of cfg.dns ?? []) address('dns-server', d);
  for (const d of cfg.nbns ?? []) address('wins-server', d);
}

/** Binds an Fsm to a Negotiator and to the link's frame output, for one control protocol. */
class ControlProtocol<C extends NegotiationContext> implements FsmHandler {
  readonly fsm: Fsm;
  readonly neg: Negotiator<C>;
  up = () => {};
  down = () => {};
  started = () => {};
  finished = () => {};
  extra?: (code: number, id: number, data: Uint8Array, state: State) => boolean;
  fatalReject?: (code: number) => boolean;

  constructor(
    readonly protocol: number,
    name: string,
    specs: ConstructorParameters<typeof Negotiator<C>>[0],
    readonly ctx: C,
    private readonly link: Link,
    fsmOpts: { clock: Clock; restartMs?: number; maxConfigure?: number; maxTerminate?: number; maxFailure?: number },
  ) {
    this.neg = new Negotiator(specs, ctx);
    this.fsm = new Fsm({ name, ...fsmOpts }, this);
  }

  send(code: number, id: number, data: Uint8Array): void {
    this.link.sendControl(this.protocol, code, id, data);
  }
  buildRequest(): Uint8Array {
    return this.neg.buildRequest();
  }
  judgeRequest(data: Uint8Array, naksAsRejects: boolean) {
    return this.neg.judgeRequest(data, naksAsRejects);
  }
  ackReceived(data: Uint8Array): boolean {
    return this.neg.ackReceived(data);
  }
  nakReceived(data: Uint8Array): boolean {
    return this.neg.nakReceived(data);
  }
  rejectReceived(data: Uint8Array): boolean {
    return this.neg.rejectReceived(data);
  }
  thisLayerUp(): void {
    this.up();
  }
  thisLayerDown(): void {
    this.down();
  }
  thisLayerStarted(): void {
    this.started();
  }
  thisLayerFinished(): void {
    this.finished();
  }
  extraCode(code: number, id: number, data: Uint8Array, state: State): boolean {
    return this.extra ? this.extra(code, id, data, state) : false;
  }
  rejectIsFatal(code: number): boolean {
    return this.fatalReject ? this.fatalReject(code) : code >= 1 && code <= 7;
  }
  peerMru(): number {
    return this.link.peerMru;
  }
  log(line: string): void {
    this.link.log(line);
  }

  /** Feed one packet and apply any option-level failure (e.g. "loopback detected"). */
  receive(buf: Uint8Array, off: number, len: number): void {
    this.fsm.receive(buf, off, len);
    if (this.ctx.failure !== undefined) this.link.fail(this.ctx.failure);
  }
}

export class Link {
  readonly role: Role;
  phase: Phase = 'dead';
  readonly stats: LinkStats = {
    framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, dataIn: 0, dataOut: 0, echoRequestsSent: 0, echoRepliesReceived: 0,
    drops: { tooLong: 0, badFraming: 0, unknownProtocol: 0, cleartext: 0, decryptFailed: 0, notReady: 0 },
  };
  /** Why the link went down (set once). */
  reason: string | undefined;

  private readonly cfg: LinkConfig;
  private readonly clock: Clock;
  private readonly lcp: ControlProtocol<LcpContext>;
  private readonly ipcp: ControlProtocol<IpcpContext>;
  private readonly ccp: ControlProtocol<CcpContext>;
  private readonly maxMtu: number;
  private readonly keepaliveMs: number;
  private readonly hdr = frame.newHeader();
  private auth: AuthSession | undefined;
  private authResult: (AuthResult & { ok: true }) | undefined;
  private mppe: MppeSession | undefined;
  private ccpSettled = false;
  private upReported = false;
  private finished = false;
  private upAt = 0;
  private lastRx = 0;
  private lastData = 0;
  private kaTimer: Timer | undefined;
  private echoesOutstanding = 0;
  private silentSince = 0;
  /** MPPE was on once: never fall back to cleartext on this link (CCP renegotiation gap). */
  private mppeExpected = false;
  private lastAuthFrame: Uint8Array | undefined;
  private lastAuthRepeat = -Infinity;
  private resetTimer: Timer | undefined;

  constructor(cfg: LinkConfig) {
    this.cfg = cfg;
    this.role = cfg.role;
    this.clock = cfg.clock;
    const maxMru = cfg.maxMru ?? 1460;
    this.maxMtu = cfg.maxMtu ?? 1460;
    if (!Number.isInteger(maxMru) || maxMru < 128 || maxMru > 65535) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `max-mru ${maxMru}: expected 128..65535`);
    if (!Number.isInteger(this.maxMtu) || this.maxMtu < 128 || this.maxMtu > 65535) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `max-mtu ${this.maxMtu}: expected 128..65535`);
    if (cfg.mrru !== undefined && (!Number.isInteger(cfg.mrru) || cfg.mrru < 512 || cfg.mrru > 65535)) {
      throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `mrru ${cfg.mrru}: expected 512..65535 or disabled`);
    }
    validate(cfg);
    this.keepaliveMs = (cfg.keepaliveTimeout ?? (cfg.role === 'server' ? 30 : 60)) * 1000;
    const random = cfg.random ?? defaultRandom;
    const fsmOpts = { clock: cfg.clock, restartMs: cfg.restartMs, maxConfigure: cfg.maxConfigure, maxTerminate: cfg.maxTerminate, maxFailure: cfg.maxFailure };
    if (cfg.role === 'client' && (cfg.user === undefined || cfg.password === undefined)) {
      throw new ConfigError('CONFIG_ERR_MISSING', 'a PPP client needs user and password');
    }
    if (cfg.role === 'server' && !cfg.verifier) throw new ConfigError('CONFIG_ERR_MISSING', 'a PPP server needs a verifier');

    const authOffer = AUTH_STRENGTH_ORDER.filter((m) => (cfg.authentication ?? ['mschap2', 'mschap1']).includes(m));
    const lcpCtx: LcpContext = {
      role: cfg.role,
      random32: () => random() >>> 0,
      mru: maxMru,
      maxMru,
      requestMru: true,
      magic: 0,
      requestMagic: true,
      requestPfc: cfg.requestPfc ?? false,
      requestAcfc: cfg.requestAcfc ?? false,
      mrru: cfg.mrru,
      requestMrru: cfg.mrru !== undefined,
      endpoint: cfg.endpoint,
      requestEndpoint: cfg.endpoint !== undefined,
      authOffer,
      authRefused: new Set(),
      allow: cfg.allow ?? ALL_METHODS,
      peerMru: DEFAULT_MRU,
      peerMagic: 0,
      peerPfc: false,
      peerAcfc: false,
      ourPfcAcked: false,
      ourAcfcAcked: false,
      mrruAcked: false,
      loopCount: 0,
    };
    lcpCtx.magic = lcpMagic.fresh(lcpCtx, 0);
    this.lcp = new ControlProtocol(
      PppProtocol.LCP,
      'LCP',
      [lcpMru.spec, lcpAccm.spec, lcpAuth.spec, lcpMagic.spec, lcpPfc.spec, lcpAcfc.spec, lcpMrru.spec, lcpEndpoint.spec],
      lcpCtx,
      this,
      fsmOpts,
    );

    const provide = new Map<number, number>();
    const dns = cfg.dns ?? [];
    const nbns = cfg.nbns ?? [];
    if (dns[0]) provide.set(ipcpDns.PRIMARY, parseIPv4(dns[0]));
    if (dns[1]) provide.set(ipcpDns.SECONDARY, parseIPv4(dns[1]));
    if (nbns[0]) provide.set(ipcpNbns.PRIMARY, parseIPv4(nbns[0]));
    if (nbns[1]) provide.set(ipcpNbns.SECONDARY, parseIPv4(nbns[1]));
    const ipcpCtx: IpcpContext = {
      role: cfg.role,
      localAddress: cfg.localAddress ? parseIPv4(cfg.localAddress) : 0,
      requestAddress: cfg.role === 'client' || cfg.localAddress !== undefined,
      assignAddress: cfg.role === 'server' && cfg.remoteAddress ? parseIPv4(cfg.remoteAddress) : undefined,
      addressHintSent: false,
      provide: cfg.role === 'server' ? provide : new Map(),
      ask: new Set(cfg.role === 'client' && cfg.usePeerDns ? [ipcpDns.PRIMARY, ipcpDns.SECONDARY] : []),
      learned: new Map(),
      peerAddress: 0,
    };
    this.ipcp = new ControlProtocol(
      PppProtocol.IPCP,
      'IPCP',
      [ipcpAddress.spec, ipcpVj.spec, ipcpDns.primary, ipcpNbns.primary, ipcpDns.secondary, ipcpNbns.secondary],
      ipcpCtx,
      this,
      fsmOpts,
    );

    const ccpCtx: CcpContext = {
      useEncryption: cfg.useEncryption ?? 'no',
      keysAvailable: false,
      allowedMask: ccpMppe.maskFor(cfg.mppeBits ?? [128, 40]),
      mode: cfg.mppeMode ?? 'stateless',
      offerMppe: false,
      reqMask: 0,
      reqStateless: true,
      missingHintSent: false,
    };
    this.ccp = new ControlProtocol(PppProtocol.CCP, 'CCP', [ccpMppe.spec], ccpCtx, this, fsmOpts);

    this.wireLcp();
    this.wireIpcp();
    this.wireCcp();
  }

  // ---- public API ---------------------------------------------------------------------------

  /** Begin: the tunnel is up, start LCP (RFC 1661 §3.2 Establish phase). */
  start(): void {
    if (this.phase !== 'dead' || this.finished) return;
    this.lastRx = this.lastData = this.clock.now();
    this.lcp.neg.reset();
    this.setPhase('establish');
    this.lcp.fsm.open();
    this.lcp.fsm.up();
  }

  /** Administrative close: Terminate-Request carrying `reason`, then down. */
  close(reason: string = REASON.CLOSED): void {
    if (this.finished) return;
    this.reason ??= reason;
    if (this.lcp.fsm.state === State.Initial || this.lcp.fsm.state === State.Starting || this.lcp.fsm.state === State.Closed || this.lcp.fsm.state === State.Stopped) {
      this.finish();
      return;
    }
    this.setPhase('terminate');
    this.lcp.fsm.close(this.reason);
  }

  /** The tunnel itself is gone: no Terminate exchange possible. */
  lowerDown(reason: string): void {
    if (this.finished) return;
    this.reason ??= reason;
    this.finish();
  }

  /**
   * Server: settings RouterOS decides only once the user is known (secret > profile, pool
   * allocation at authentication): our address, the one we assign, DNS, use-encryption.
   * Takes effect if called before the Network phase (e.g. from the verifier); returns false
   * (and changes nothing) later.
   */
  setPeerSettings(s: { localAddress?: string; remoteAddress?: string; dns?: readonly string[]; useEncryption?: UseEncryption }): boolean {
    if (this.finished || this.phase === 'network' || this.phase === 'running' || this.phase === 'terminate') return false;
    const ip = this.ipcp.ctx;
    if (s.localAddress !== undefined) {
      ip.localAddress = address('local-address', s.localAddress);
      ip.requestAddress = true;
    }
    if (s.remoteAddress !== undefined && this.role === 'server') ip.assignAddress = address('remote-address', s.remoteAddress);
    if (s.dns !== undefined && this.role === 'server') {
      ip.provide.delete(ipcpDns.PRIMARY);
      ip.provide.delete(ipcpDns.SECONDARY);
      if (s.dns[0]) ip.provide.set(ipcpDns.PRIMARY, address('dns-server', s.dns[0]));
      if (s.dns[1]) ip.provide.set(ipcpDns.SECONDARY, address('dns-server', s.dns[1]));
    }
    if (s.useEncryption !== undefined) this.ccp.ctx.useEncryption = s.useEncryption;
    return true;
  }

  get isUp(): boolean {
    return this.upReported && !this.finished;
  }

  /**
   * Negotiated MTU: the peer's MRU capped by our max-mtu. With MPPE on, its header and the
   * inner protocol field travel inside the peer's MRU too (RFC 3078 §3), so 4 octets less,
   * as pppd does (found against pppd in test/interop/pptp-*.test.ts).
   */
  get mtu(): number {
    const m = Math.min(this.lcp.ctx.peerMru, this.maxMtu);
    return this.mppe ? m - MPPE_OVERHEAD - 2 : m;
  }

  /** Negotiated MRU: what the peer Ack'd us (1500 if we did not ask). */
  get mru(): number {
    return this.lcp.ctx.requestMru ? this.lcp.ctx.mru : DEFAULT_MRU;
  }

  get peerMru(): number {
    return this.lcp.ctx.peerMru;
  }

  get encoding(): string {
    return this.mppe ? this.mppe.encoding : 'none';
  }

  /** One PPP frame as received from the tunnel (may start with FF 03, may use PFC). */
  receiveFrame(buf: Uint8Array, off = 0, len = buf.length - off): void {
    if (this.finished || this.phase === 'dead') return;
    const st = this.stats;
    st.framesIn++;
    st.bytesIn += len;
    this.lastRx = this.clock.now();
    const h = this.hdr;
    try {
      frame.decodeHeader(buf, off, len, h);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      st.drops.badFraming++;
      return;
    }
    const proto = h.protocol;
    // Before LCP is open we only promised RFC 1661's default 1500 (or our larger max-mru).
    const limit = (this.lcp.fsm.state === State.Opened ? this.mru : Math.max(DEFAULT_MRU, this.lcp.ctx.maxMru)) + (proto === PppProtocol.COMPRESSED ? 4 : 0);
    if (h.length > limit) {
      st.drops.tooLong++;
      return;
    }
    switch (proto) {
      case PppProtocol.IPV4:
        return this.receiveIp(buf, h.offset, h.length, false);
      case PppProtocol.COMPRESSED:
        return this.receiveCompressed(buf, h.offset, h.length);
      case PppProtocol.LCP:
        return this.receiveLcp(buf, h.offset, h.length);
      case PppProtocol.PAP:
      case PppProtocol.CHAP:
        if (this.auth && (this.phase === 'authenticate' || this.phase === 'network' || this.phase === 'running')) {
          this.auth.receive(proto, buf.slice(h.offset, h.offset + h.length));
        } else st.drops.notReady++;
        return;
      case PppProtocol.IPCP:
        // NCP packets before the Network phase are silently discarded (RFC 1661 §3.4/3.5).
        if (this.phase === 'network' || this.phase === 'running') {
          // The peer started IPCP before our CCP settled: answer it now rather than make it wait.
          this.openIpcp();
          this.ipcp.receive(buf, h.offset, h.length);
        } else this.ncpTooEarly();
        return;
      case PppProtocol.CCP:
        if (this.phase === 'network' || this.phase === 'running') {
          // Passive CCP (use-encryption=no): the peer's first CCP packet opens ours (also after an LCP renegotiation).
          if (this.ccp.fsm.state === State.Initial || this.ccp.fsm.state === State.Starting) this.openCcp();
          this.ccp.receive(buf, h.offset, h.length);
        }
        else this.ncpTooEarly();
        return;
      default:
        st.drops.unknownProtocol++;
        if (this.lcp.fsm.state === State.Opened) this.sendProtocolReject(proto, buf.subarray(h.offset, h.offset + h.length));
        return;
    }
  }

  /**
   * Allocation-free send path. buf[off..off+len) is one IPv4 packet with at least
   * DATA_HEADROOM writable octets before `off`. Frames it in place (encrypting with MPPE
   * when on) and returns the frame's start: the frame is buf[start .. off+len). Returns -1
   * (and counts a drop) when the packet may not be sent.
   */
  wrapData(buf: Uint8Array, off: number, len: number): number {
    const st = this.stats;
    if (!this.dataReady()) {
      st.drops.notReady++;
      return -1;
    }
    if (len > this.mtu) {
      st.drops.tooLong++;
      return -1;
    }
    const acfc = this.lcp.ctx.peerAcfc;
    const pfc = this.lcp.ctx.peerPfc;
    let start: number;
    if (this.mppe) {
      // Inner protocol field, uncompressed, then MPPE header, then the 0x00FD header.
      buf[off - 2] = 0x00;
      buf[off - 1] = 0x21;
      const m = this.mppe.encryptInPlace(buf, off - 2, len + 2);
      start = frame.writeHeader(buf, m, PppProtocol.COMPRESSED, acfc, pfc);
    } else {
      if (this.ccp.ctx.useEncryption === 'required' || this.mppeExpected) {
        st.drops.cleartext++;
        return -1;
      }
      start = frame.writeHeader(buf, off, PppProtocol.IPV4, acfc, pfc);
    }
    st.framesOut++;
    st.dataOut++;
    st.bytesOut += off + len - start;
    this.lastData = this.clock.now();
    return start;
  }

  /** Convenience send: copies `ip` into a fresh buffer (safe to queue) and hands the frame to onFrame. */
  sendData(ip: Uint8Array): boolean {
    const buf = new Uint8Array(DATA_HEADROOM + ip.length);
    buf.set(ip, DATA_HEADROOM);
    const s = this.wrapData(buf, DATA_HEADROOM, ip.length);
    if (s < 0) return false;
    this.cfg.onFrame(buf.subarray(s));
    return true;
  }

  info(): LinkInfo {
    const now = this.clock.now();
    const ip = this.ipcp.ctx;
    const dns = [ipcpDns.PRIMARY, ipcpDns.SECONDARY].map((t) => (this.role === 'server' ? ip.provide.get(t) : ip.learned.get(t))).filter((v): v is number => !!v);
    const nbns = [ipcpNbns.PRIMARY, ipcpNbns.SECONDARY].map((t) => (this.role === 'server' ? ip.provide.get(t) : ip.learned.get(t))).filter((v): v is number => !!v);
    return {
      role: this.role,
      phase: this.phase,
      status: statusOf(this.phase),
      user: this.role === 'client' ? this.cfg.user : this.authResult?.user,
      authMethod: this.authResult?.method,
      localAddress: formatIPv4(ip.localAddress),
      remoteAddress: formatIPv4(ip.peerAddress),
      dns: dns.map(formatIPv4),
      nbns: nbns.map(formatIPv4),
      mtu: this.mtu,
      mru: this.mru,
      mrru: this.lcp.ctx.mrruAcked ? this.lcp.ctx.peerMrru : undefined,
      encoding: this.encoding,
      uptimeMs: this.upReported ? now - this.upAt : 0,
      idleMs: now - this.lastData,
      reason: this.reason,
    };
  }

  // ---- internals used by ControlProtocol ----------------------------------------------------

  /** Frame and emit one control packet. */
  sendControl(protocol: number, code: number, id: number, data: Uint8Array): void {
    if (this.finished) return;
    const info = packet.encode({ code, id, data });
    // ACFC only once LCP is Opened and the peer asked for it (RFC 1661 §6.6); never on LCP.
    const acfc = this.lcp.fsm.state === State.Opened && this.lcp.ctx.peerAcfc;
    this.emit(frame.encode(protocol, info, { acfc }));
  }

  log(line: string): void {
    this.cfg.log?.(line);
  }

  /** An option decided the negotiation cannot succeed. */
  fail(reason: string): void {
    if (this.finished) return;
    if (this.reason === undefined) {
      this.log(`closing: ${reason}`);
      this.close(reason);
    }
  }

  // ---- LCP ----------------------------------------------------------------------------------

  private wireLcp(): void {
    const lcp = this.lcp;
    lcp.up = () => this.lcpUp();
    lcp.down = () => this.lcpDown();
    lcp.finished = () => {
      // This-Layer-Finished: negotiation gave up, or the terminate exchange ended.
      this.reason ??= this.lcp.ctx.authRefusedByUs ? REASON.REFUSED_ALL : REASON.LCP_TIMEOUT;
      this.finish();
    };
    lcp.extra = (code, id, data, state) => {
      if (code < Code.PROTO_REJ || code > Code.TIME_REMAINING) return false;
      if (state !== State.Opened) return true; // RXR outside Opened: ignored (RFC 1661 §4.1)
      switch (code) {
        case Code.PROTO_REJ:
          this.protocolRejected(data);
          return true;
        case Code.ECHO_REQ: {
          // ser: answer with our Magic-Number and the request's data (RFC 1661 §5.8).
          const reply = new Uint8Array(Math.max(4, data.length));
          reply.set(data.subarray(4), 4);
          const m = lcp.ctx.requestMagic ? lcp.ctx.magic : 0;
          reply[0] = m >>> 24; reply[1] = (m >>> 16) & 255; reply[2] = (m >>> 8) & 255; reply[3] = m & 255;
          this.sendControl(PppProtocol.LCP, Code.ECHO_REP, id, reply);
          return true;
        }
        case Code.ECHO_REP:
          this.stats.echoRepliesReceived++;
          return true;
        default:
          return true; // Discard-Request, Identification, Time-Remaining: nothing to do
      }
    };
  }

  private receiveLcp(buf: Uint8Array, off: number, len: number): void {
    const st = this.lcp.fsm.state;
    const isTermReq = len >= 4 && buf[off] === Code.TERM_REQ && this.reason === undefined;
    // In Opened a Terminate-Request ends the link (RTR/9: tld,zrc,sta -> Stopping). During
    // negotiation the automaton Acks and keeps going (RTR/6-8: sta/6), but a peer that sends
    // one then has given up on us (e.g. no common auth method): we end the link too rather
    // than wait out Max-Configure.
    const opened = isTermReq && st === State.Opened;
    const negotiating = isTermReq && (st === State.ReqSent || st === State.AckRcvd || st === State.AckSent);
    if (opened || negotiating) {
      const l = Math.min(len, (buf[off + 2] << 8) | buf[off + 3]);
      const text = l > 4 ? printable(buf.subarray(off + 4, off + l)) : undefined;
      this.log(`peer sent Terminate-Request: ${text ?? '(no text)'}`);
      // It gave up after we refused every authentication method it offered (pppd drops the
      // option, opens LCP, then says "peer refused to authenticate"): say so in our words.
      this.reason = this.lcp.ctx.authRefusedByUs && !this.authResult ? REASON.REFUSED_ALL : (text ?? REASON.PEER_TERMINATED);
      if (opened) this.setPhase('terminate');
    }
    this.lcp.receive(buf, off, len);
    if (negotiating && !this.finished) this.finish();
  }


  private lcpUp(): void {
    const c = this.lcp.ctx;
    this.log(`LCP up: mtu ${this.mtu} mru ${this.mru}${c.authAgreed ? ' auth ' + c.authAgreed : ''}${c.peerAuth ? ' auth ' + c.peerAuth : ''}`);
    this.startKeepalive();
    const method = this.role === 'server' ? c.authAgreed : c.peerAuth;
    if (this.role === 'server' && method === undefined && c.authOffer.length > 0) {
      this.fail(REASON.REFUSED_ALL);
      return;
    }
    if (method === undefined) {
      this.enterNetwork();
      return;
    }
    this.setPhase('authenticate');
    const factory: AuthFactory = this.cfg.auth ?? { createClient: createAuthClient, createServer: createAuthServer };
    const send = (protocol: number, payload: Uint8Array) => this.sendControlRaw(protocol, payload);
    const done = (r: AuthResult) => this.authDone(r);
    const log = (line: string) => this.log(line);
    const auth: AuthSession =
      this.role === 'client'
        ? factory.createClient(method, { user: this.cfg.user!, password: this.cfg.password!, clock: this.clock, send, done, log })
        : factory.createServer(method, { name: this.cfg.name ?? 'culvert', verifier: this.cfg.verifier!, clock: this.clock, send, done, log });
    this.auth = auth;
    auth.start();
  }

  /**
   * An NCP packet while we still authenticate: the peer already finished authentication,
   * so its Success (or Failure) to us was lost. CHAP has the authenticator drive
   * retransmission and it will not challenge again, but it must re-answer a repeated
   * Response (RFC 1994 §4.1): repeat our last authentication frame, at most once per
   * restart interval, instead of waiting for the auth timeout.
   */
  private ncpTooEarly(): void {
    this.stats.drops.notReady++;
    if (this.phase !== 'authenticate' || this.role !== 'client' || !this.lastAuthFrame) return;
    const now = this.clock.now();
    if (now - this.lastAuthRepeat < (this.cfg.restartMs ?? 3000)) return;
    this.lastAuthRepeat = now;
    this.log('NCP packet during authentication: repeating our last authentication frame');
    this.emit(this.lastAuthFrame);
  }

  private authDone(r: AuthResult): void {
    if (this.finished || this.phase !== 'authenticate') return;
    if (!r.ok) {
      this.log(`authentication failed (${r.method}${r.user ? ' user ' + r.user : ''}): ${r.reason}`);
      this.fail(REASON.AUTH_FAILED);
      return;
    }
    this.authResult = r;
    this.log(`authenticated${r.user ? ' ' + r.user : ''} with ${r.method}`);
    this.enterNetwork();
  }

  private enterNetwork(): void {
    if (this.finished) return;
    this.setPhase('network');
    const cc = this.ccp.ctx;
    cc.keysAvailable = !!this.authResult?.mppe;
    if (cc.useEncryption === 'required' && !cc.keysAvailable) {
      this.fail(REASON.MPPE_UNAVAILABLE);
      return;
    }
    this.ccpSettled = false;
    this.ipcp.neg.reset();
    this.ccp.neg.reset();
    // use-encryption=no: CCP stays passive (like pppd without compressors) - we only talk
    // CCP if the peer starts it, so peers without CCP never see (or reject) our requests.
    // Otherwise CCP goes first and IPCP follows once it settles: pppd with require-mppe
    // answers an IPCP request that precedes MPPE with Terminate-Ack, which would cost a
    // full restart interval.
    if (cc.useEncryption !== 'no') this.openCcp();
    else this.openIpcp();
  }

  private openIpcp(): void {
    const st = this.ipcp.fsm.state;
    if (st !== State.Initial && st !== State.Starting) return;
    this.ipcp.fsm.open();
    this.ipcp.fsm.up();
  }

  private openCcp(): void {
    this.ccp.fsm.open();
    this.ccp.fsm.up();
  }

  private lcpDown(): void {
    // Leaving Opened: everything above LCP goes down with it (RFC 1661 §3.2).
    this.stopKeepalive();
    this.ipcp.fsm.down();
    this.ccp.fsm.down();
    this.dropMppe();
    this.auth?.stop();
    this.auth = undefined;
    this.upReported = false;
    if (this.reason === undefined) {
      // Renegotiation (peer sent a new Configure-Request): back to Establish.
      this.authResult = undefined;
      this.setPhase('establish');
    } else this.setPhase('terminate');
  }

  private protocolRejected(data: Uint8Array): void {
    if (data.length < 2) return;
    const p = (data[0] << 8) | data[1];
    this.log(`peer rejected protocol ${protocolName(p)}`);
    if (p === PppProtocol.IPCP) this.ipcp.fsm.rxjMinus();
    else if (p === PppProtocol.CCP) this.ccp.fsm.rxjMinus();
    else if (p === PppProtocol.LCP) this.lcp.fsm.rxjMinus();
  }

  private sendProtocolReject(proto: number, info: Uint8Array): void {
    // Rejected-Protocol + as much of the rejected Information as fits the peer's MRU (RFC 1661 §5.7).
    const room = Math.max(0, this.peerMru - 6);
    const body = new Uint8Array(2 + Math.min(info.length, room));
    body[0] = proto >> 8;
    body[1] = proto & 0xff;
    body.set(info.subarray(0, body.length - 2), 2);
    this.sendControl(PppProtocol.LCP, Code.PROTO_REJ, this.lcp.fsm.newId(), body);
  }

  // ---- keepalive (seeds: RouterOS keepalive-timeout) ----------------------------------------

  private startKeepalive(): void {
    this.stopKeepalive();
    if (this.keepaliveMs <= 0) return;
    this.echoesOutstanding = 0;
    this.kaTimer = this.clock.setTimer(this.keepaliveMs, () => this.keepaliveTick());
  }

  private stopKeepalive(): void {
    this.kaTimer?.cancel();
    this.kaTimer = undefined;
  }

  /**
   * After keepalive-timeout seconds without any frame from the peer, send an Echo-Request
   * every second, five times; still nothing one second after the fifth: down.
   */
  private keepaliveTick(): void {
    this.kaTimer = undefined;
    if (this.finished || this.lcp.fsm.state !== State.Opened) return;
    const now = this.clock.now();
    if (this.echoesOutstanding > 0 && this.lastRx !== this.silentSince) {
      // Something (an Echo-Reply or anything else) arrived since the echoes started.
      this.echoesOutstanding = 0;
    }
    if (this.echoesOutstanding === 0) {
      const silent = now - this.lastRx;
      if (silent < this.keepaliveMs) {
        this.kaTimer = this.clock.setTimer(this.keepaliveMs - silent, () => this.keepaliveTick());
        return;
      }
      this.silentSince = this.lastRx;
    }
    if (this.echoesOutstanding >= ECHO_COUNT) {
      this.reason ??= REASON.ECHO;
      // The peer is gone: no point in a Terminate exchange it will never answer.
      this.finish();
      return;
    }
    if (this.echoesOutstanding > 0) this.log(REASON.ECHO);
    this.echoesOutstanding++;
    this.stats.echoRequestsSent++;
    const c = this.lcp.ctx;
    const m = c.requestMagic ? c.magic : 0;
    this.sendControl(PppProtocol.LCP, Code.ECHO_REQ, this.lcp.fsm.newId(), Uint8Array.of(m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255));
    this.kaTimer = this.clock.setTimer(ECHO_INTERVAL_MS, () => this.keepaliveTick());
  }

  // ---- IPCP ---------------------------------------------------------------------------------

  private wireIpcp(): void {
    this.ipcp.up = () => {
      const c = this.ipcp.ctx;
      if (this.role === 'client' && c.localAddress === 0) {
        this.fail(REASON.NO_ADDRESS);
        return;
      }
      this.log(`IPCP up: local ${formatIPv4(c.localAddress)} remote ${formatIPv4(c.peerAddress)}`);
      this.maybeUp();
    };
    this.ipcp.down = () => {
      this.upReported = false;
      if (this.phase === 'running') this.setPhase('network');
    };
    this.ipcp.finished = () => {
      // No network protocol left to run: close the link (as pppd does).
      if (this.phase === 'network' || this.phase === 'running') this.fail(REASON.IPCP_FAILED);
    };
  }

  // ---- CCP / MPPE ---------------------------------------------------------------------------

  private wireCcp(): void {
    const ccp = this.ccp;
    ccp.up = () => this.ccpUp();
    ccp.down = () => {
      this.dropMppe();
      this.ccpSettled = false;
    };
    ccp.finished = () => {
      if (this.phase !== 'network' && this.phase !== 'running') return;
      if (ccp.ctx.useEncryption === 'required') {
        this.fail(REASON.MPPE_REFUSED);
        return;
      }
      this.ccpSettled = true;
      this.openIpcp();
      this.maybeUp();
    };
    ccp.fatalReject = (code) => code >= 1 && code <= 7;
    ccp.extra = (code, id, _data, state) => {
      if (code !== Code.RESET_REQ && code !== Code.RESET_ACK) return false;
      if (state !== State.Opened || !this.mppe) return true;
      if (code === Code.RESET_REQ) {
        this.mppe.onPeerResetRequest();
        this.sendControl(PppProtocol.CCP, Code.RESET_ACK, id, new Uint8Array(0));
      } else {
        this.mppe.onPeerResetAck();
        this.resetTimer?.cancel();
        this.resetTimer = undefined;
      }
      return true;
    };
  }

  private ccpUp(): void {
    const c = this.ccp.ctx;
    const ours = c.ours;
    const peer = c.peer;
    this.dropMppe();
    if (ours && peer) {
      if (ours.bits !== peer.bits || ours.stateless !== peer.stateless) {
        this.fail(REASON.MPPE_ASYMMETRIC);
        return;
      }
      const keys = this.authResult!.mppe!.startKeys(ours.bits, this.role);
      this.mppe = new MppeSession({
        bits: ours.bits,
        stateless: ours.stateless,
        sendKey: keys.send,
        recvKey: keys.recv,
        onResetRequest: () => this.sendResetRequest(),
      });
      this.mppeExpected = true;
    } else if (ours || peer) {
      this.fail(REASON.MPPE_ASYMMETRIC);
      return;
    } else if (c.useEncryption === 'required') {
      this.fail(REASON.MPPE_REFUSED);
      return;
    }
    this.log(`CCP up: ${this.encoding}`);
    this.ccpSettled = true;
    this.openIpcp();
    this.maybeUp();
  }

  private sendResetRequest(): void {
    if (this.finished || this.ccp.fsm.state !== State.Opened) return;
    this.sendControl(PppProtocol.CCP, Code.RESET_REQ, this.ccp.fsm.newId(), new Uint8Array(0));
    // Repeat while the session still waits for a FLUSHED packet (the request may be lost).
    this.resetTimer?.cancel();
    this.resetTimer = this.clock.setTimer(this.cfg.restartMs ?? 3000, () => {
      this.resetTimer = undefined;
      if (this.mppe?.awaitingFlush) this.sendResetRequest();
    });
  }

  private dropMppe(): void {
    this.resetTimer?.cancel();
    this.resetTimer = undefined;
    this.mppe?.destroy();
    this.mppe = undefined;
  }

  // ---- data path ----------------------------------------------------------------------------

  private dataReady(): boolean {
    return this.upReported && !this.finished && this.ipcp.fsm.state === State.Opened;
  }

  private receiveIp(buf: Uint8Array, off: number, len: number, decrypted: boolean): void {
    const st = this.stats;
    if (!this.dataReady()) {
      st.drops.notReady++;
      return;
    }
    // use-encryption=required: a cleartext datagram never passes (RFC 3078 §3: MPPE covers 0x0021).
    if (!decrypted && (this.ccp.ctx.useEncryption === 'required' || this.mppeExpected)) {
      st.drops.cleartext++;
      return;
    }
    st.dataIn++;
    this.lastData = this.lastRx;
    this.cfg.onData?.(buf, off, len);
  }

  private receiveCompressed(buf: Uint8Array, off: number, len: number): void {
    const st = this.stats;
    if (!this.mppe) {
      st.drops.decryptFailed++;
      return;
    }
    const p = this.mppe.decryptInPlace(buf, off, len);
    if (p < 0) {
      st.drops.decryptFailed++;
      return;
    }
    const end = off + len;
    // The inner protocol field may be PFC-compressed (RFC 3078 §3 / RFC 1962 §4).
    let proto: number;
    let q: number;
    if (p < end && buf[p] & 1) {
      proto = buf[p];
      q = p + 1;
    } else if (p + 2 <= end) {
      proto = (buf[p] << 8) | buf[p + 1];
      q = p + 2;
    } else {
      st.drops.decryptFailed++;
      return;
    }
    if (proto === PppProtocol.IPV4) this.receiveIp(buf, q, end - q, true);
    else st.drops.unknownProtocol++;
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private maybeUp(): void {
    if (this.upReported || this.finished) return;
    if (this.ipcp.fsm.state !== State.Opened) return;
    const ue = this.ccp.ctx.useEncryption;
    if (ue !== 'no' && !this.ccpSettled) return;
    if (ue === 'required' && !this.mppe) return;
    this.upReported = true;
    this.upAt = this.clock.now();
    this.lastData = this.upAt;
    this.setPhase('running');
    this.cfg.onUp?.(this.info());
  }

  /** Auth frames: the auth layer gives us the information field. */
  private sendControlRaw(protocol: number, payload: Uint8Array): void {
    if (this.finished) return;
    const acfc = this.lcp.fsm.state === State.Opened && this.lcp.ctx.peerAcfc;
    const f = frame.encode(protocol, payload, { acfc });
    if (this.role === 'client' && this.phase === 'authenticate') this.lastAuthFrame = f;
    this.emit(f);
  }

  private emit(f: Uint8Array): void {
    this.stats.framesOut++;
    this.stats.bytesOut += f.length;
    this.cfg.onFrame(f);
  }

  private setPhase(p: Phase): void {
    if (this.phase === p) return;
    this.phase = p;
    this.log(`phase ${p}`);
    this.cfg.onPhase?.(p);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.reason ??= REASON.CLOSED;
    this.stopKeepalive();
    this.dropMppe();
    this.auth?.stop();
    this.auth = undefined;
    this.lcp.fsm.destroy();
    this.ipcp.fsm.destroy();
    this.ccp.fsm.destroy();
    this.upReported = false;
    this.setPhase('dead');
    this.log(`down: ${this.reason}`);
    this.cfg.onDown?.(this.reason);
  }
}
