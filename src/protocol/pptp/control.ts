/**
 * The PPTP control connection (RFC 2637 §3), sans-I/O: one TCP connection's worth of
 * state. The io layer feeds TCP bytes to `receive`, writes what `onWrite` hands it, and
 * closes the socket when `onClose` fires (after flushing); it reports the peer's close
 * with `tcpClosed`. Time comes from the injected Clock.
 *
 * Roles: 'client' is the originator and PNS (pptp-linux's side: SCCRQ, OCRQ,
 * Call-Clear-Request), 'server' the receiver and PAC (pptpd's side: SCCRP, OCRP,
 * Call-Disconnect-Notify). Calls are tracked here; their data channels are not.
 *
 * Teardown follows the exchange of the MS "PPTP traffic" description (seed 002): the side
 * that clears the call sends Stop-Control-Connection-Request as soon as the call is gone;
 * the other side waits `lingerMs` for it and sends its own if none comes, so peers that
 * send only a Call-Clear-Request (or just close TCP, as pptp-linux does) are handled.
 */
import type { Clock, Timer } from '../clock.js';
import { CodecError, ConfigError } from '../../errors.js';
import {
  checkFixedHeader,
  create,
  decode,
  encode,
  PPTP_CONTROL_TYPE_NAMES,
  PPTP_MAX_MESSAGE_LENGTH,
  PPTP_PROTOCOL_VERSION,
  PptpBearerCapability,
  PptpCdnResult,
  PptpControlType as T,
  PptpEchoResult,
  PptpFramingCapability,
  PptpGeneralError,
  PptpIcrpResult,
  PptpOcrpResult,
  PptpSccrpResult,
  PptpStopReason,
  PptpStopResult,
  PPTP_GENERAL_ERROR_TEXT,
  type CallDisconnectNotify,
  type OutgoingCallReply,
  type OutgoingCallRequest,
  type PptpControlMessage,
  type SetLinkInfo,
  type StartControlConnectionReply,
  type StartControlConnectionRequest,
} from '../../codec/pptp/index.js';

export type ControlRole = 'client' | 'server';

export type ControlState =
  /** Not started. */
  | 'idle'
  /** Client: SCCRQ sent (RFC 2637 §3.1.1 wait_ctl_reply). */
  | 'wait-ctl-reply'
  /** Server: TCP open, waiting for SCCRQ (§3.1.2 idle with a connection). */
  | 'wait-ctl-request'
  | 'established'
  /** StopCCRQ sent (§3.1.1 wait_stop_reply). */
  | 'wait-stop-reply'
  /** We won an SCCRQ collision on the connection the loser opened: silent until it closes (§3.1.3). */
  | 'collision-wait'
  | 'closed';

export type CallState = 'wait-reply' | 'established' | 'wait-disconnect' | 'closed';

/** One call as the control connection sees it. */
export interface ControlCall {
  /** Our Call ID: the peer writes it in the GRE Key of what it sends us. */
  readonly localCallId: number;
  /** The peer's Call ID (-1 until the OCRP names it, client side). */
  peerCallId: number;
  state: CallState;
  /** The peer's Packet Recv. Window Size and Packet Processing Delay (§2.7, §2.8). */
  peerWindow: number;
  peerProcessingDelay: number;
  connectSpeed: number;
  /** What the peer sent in its last Set-Link-Info (§2.15); 0xFFFFFFFF until then. */
  peerSendAccm: number;
  peerReceiveAccm: number;
  /** Why the call ended. */
  reason?: string;
  /** True when we started clearing it. */
  clearedByUs: boolean;
}

export interface PlaceCallOptions {
  callId: number;
  /** Our receive window (default 64). */
  window?: number;
  processingDelay?: number;
  phoneNumber?: string;
  subaddress?: string;
  minimumBps?: number;
  maximumBps?: number;
  callSerialNumber?: number;
}

export type OutgoingCallDecision =
  | { accept: true; callId: number; window?: number; processingDelay?: number; connectSpeed?: number }
  | { accept: false; resultCode: number; errorCode?: number; causeCode?: number };

export interface ControlStats {
  /** Messages received and sent, by short name (SCCRQ, OCRP, ...). */
  rx: Record<string, number>;
  tx: Record<string, number>;
  /** Well-formed messages that make no sense in the current state (dropped). */
  unexpected: number;
  /** Messages with an unknown Control Message Type (skipped). */
  unknown: number;
  /** Echo-Replies that matched no Echo-Request. */
  strayEchoReplies: number;
  wanErrors: number;
}

export interface PptpControlOptions {
  role: ControlRole;
  clock: Clock;
  hostName?: string;
  vendorName?: string;
  firmwareRevision?: number;
  /** Server: calls allowed on this connection (SCCRP Maximum Channels), default 1. */
  maxChannels?: number;
  /** pptp(8) --idle-wait: Echo-Request after this long without a control message (RFC default 60 s). */
  idleWaitMs?: number;
  /** pptp(8) --max-echo-wait: drop if no Echo-Reply this long after the request (RFC default 60 s). */
  maxEchoWaitMs?: number;
  /** Wait for SCCRQ/SCCRP, OCRP, CDN and StopCCRP (RFC §3: 60 s). */
  replyTimeoutMs?: number;
  /** How long the side that did not clear the call waits for the peer's StopCCRQ (default 2 s). */
  lingerMs?: number;
  /** Accept non-zero reserved fields (default true: several stacks set them). */
  lenient?: boolean;
  /** SCCRQ collision handling (§3.1.3): the endpoint's registry and the peer's address. */
  collisions?: PptpCollisionRegistry;
  peerAddress?: string | number;
  /** Uniform random 32-bit values for Echo identifiers. */
  random32?: () => number;

  /** TCP bytes to send, in order. */
  onWrite: (bytes: Uint8Array) => void;
  /** Close the TCP connection (after flushing what was written). Called once. */
  onClose: (reason: string) => void;
  onEstablished?: (peer: StartControlConnectionRequest | StartControlConnectionReply) => void;
  /** Server: judge an Outgoing-Call-Request (default: refuse). */
  onOutgoingCall?: (req: OutgoingCallRequest) => OutgoingCallDecision;
  onCallUp?: (call: ControlCall) => void;
  /** The call is over (cleared by either side, refused, timed out, or the connection went). */
  onCallDown?: (call: ControlCall, reason: string) => void;
  onSetLinkInfo?: (call: ControlCall, msg: SetLinkInfo) => void;
  log?: (line: string) => void;
}

const DEFAULT_ACCM = 0xffffffff;

export const CONTROL_REASON = {
  PEER_CLOSED: 'peer closed the control connection',
  NO_SCCRP: 'no Start-Control-Connection-Reply',
  NO_SCCRQ: 'no Start-Control-Connection-Request',
  NO_OCRP: 'no Outgoing-Call-Reply',
  NO_STOP_REPLY: 'no Stop-Control-Connection-Reply',
  NO_ECHO_REPLY: 'no Echo-Reply',
  COLLISION_LOST: 'control connection collision lost (peer has the higher address)',
  COLLISION_WON: 'control connection collision won: closing the peer\'s connection',
  PEER_STOPPED: 'peer stopped the control connection',
  STOPPED: 'control connection stopped',
  NO_CALLS: 'no calls left',
  PEER_CLEARED: 'peer cleared the call',
} as const;

const SCCRP_TEXT: Readonly<Record<number, string>> = {
  1: 'success',
  2: 'general error',
  3: 'command channel already exists',
  4: 'requester is not authorized to establish a command channel',
  5: 'the protocol version of the requester is not supported',
};
const OCRP_TEXT: Readonly<Record<number, string>> = {
  1: 'connected',
  2: 'general error',
  3: 'no carrier',
  4: 'busy',
  5: 'no dial tone',
  6: 'time-out',
  7: 'call not accepted',
};
const CDN_TEXT: Readonly<Record<number, string>> = {
  1: 'lost carrier',
  2: 'general error',
  3: 'administrative shutdown',
  4: 'call-clear request',
};
const STOP_TEXT: Readonly<Record<number, string>> = {
  1: 'general request',
  2: 'protocol version not supported',
  3: 'local shutdown',
};

function resultText(table: Readonly<Record<number, string>>, result: number, error?: number): string {
  const r = table[result] ?? `result ${result}`;
  if (error === undefined || error === 0) return r;
  return `${r} (${PPTP_GENERAL_ERROR_TEXT[error] ?? `error ${error}`})`;
}

function addrU32(a: string | number | undefined): number | undefined {
  if (a === undefined) return undefined;
  if (typeof a === 'number') return a >>> 0;
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `not an IPv4 address: ${a}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/**
 * SCCRQ collision arbitration for one endpoint (RFC 2637 §3.1.3): it knows the
 * connections we originated and still wait on, by peer address.
 */
export class PptpCollisionRegistry {
  readonly localAddress: number;
  private readonly originating = new Map<number, Set<PptpControlConnection>>();

  constructor(localAddress: string | number) {
    this.localAddress = addrU32(localAddress)!;
  }

  /** @internal */
  add(peer: number, conn: PptpControlConnection): void {
    let s = this.originating.get(peer);
    if (!s) this.originating.set(peer, (s = new Set()));
    s.add(conn);
  }

  /** @internal */
  remove(peer: number, conn: PptpControlConnection): void {
    const s = this.originating.get(peer);
    if (!s) return;
    s.delete(conn);
    if (s.size === 0) this.originating.delete(peer);
  }

  /**
   * An SCCRQ arrived from `peer`. Returns 'proceed' (answer it) or 'wait' (we won:
   * stay silent on this connection until the loser closes it).
   */
  resolve(peer: number): 'proceed' | 'wait' {
    const s = this.originating.get(peer);
    if (!s) return 'proceed';
    const racing = [...s].filter((c) => c.state === 'wait-ctl-reply');
    if (racing.length === 0) return 'proceed';
    // The higher address, as an unsigned 32-bit number, wins.
    if (this.localAddress > peer) return 'wait';
    for (const c of racing) c.abandon(CONTROL_REASON.COLLISION_LOST);
    return 'proceed';
  }
}

export class PptpControlConnection {
  readonly role: ControlRole;
  state: ControlState = 'idle';
  readonly stats: ControlStats = { rx: {}, tx: {}, unexpected: 0, unknown: 0, strayEchoReplies: 0, wanErrors: 0 };
  /** The peer's SCCRQ/SCCRP once seen (host name, vendor, capabilities). */
  peerInfo: StartControlConnectionRequest | StartControlConnectionReply | undefined;
  /** Why the connection closed. */
  reason: string | undefined;

  private readonly o: PptpControlOptions;
  private readonly clock: Clock;
  private readonly idleWaitMs: number;
  private readonly maxEchoWaitMs: number;
  private readonly replyTimeoutMs: number;
  private readonly lingerMs: number;
  private readonly strict: boolean;
  private readonly peerAddr: number | undefined;
  private readonly random32: () => number;
  private readonly calls = new Map<number, ControlCall>();
  private pendingCalls: PlaceCallOptions[] = [];
  private hadCall = false;
  // framing
  private readonly rxBuf = new Uint8Array(PPTP_MAX_MESSAGE_LENGTH);
  private rxLen = 0;
  // timers
  private setupTimer: Timer | undefined;
  private stopTimer: Timer | undefined;
  private lingerTimer: Timer | undefined;
  private kaTimer: Timer | undefined;
  private lastRx = 0;
  private echoId = -1;
  private echoSentAt = 0;
  private nextEchoId: number;
  private readonly callTimers = new Map<number, Timer>();

  constructor(o: PptpControlOptions) {
    this.o = o;
    this.role = o.role;
    this.clock = o.clock;
    const ms = (name: string, v: number | undefined, def: number, min: number) => {
      const x = v ?? def;
      if (!Number.isFinite(x) || x < min) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `${name} ${x}: expected at least ${min} ms`);
      return x;
    };
    this.idleWaitMs = ms('idle-wait', o.idleWaitMs, 60_000, 1);
    this.maxEchoWaitMs = ms('max-echo-wait', o.maxEchoWaitMs, 60_000, 1);
    this.replyTimeoutMs = ms('reply timeout', o.replyTimeoutMs, 60_000, 1);
    this.lingerMs = ms('linger', o.lingerMs, 2_000, 0);
    this.strict = !(o.lenient ?? true);
    this.peerAddr = addrU32(o.peerAddress);
    if (o.collisions && this.peerAddr === undefined) throw new ConfigError('CONFIG_ERR_MISSING', 'collision handling needs the peer address');
    this.random32 = o.random32 ?? (() => (Math.random() * 0x100000000) >>> 0);
    this.nextEchoId = this.random32() >>> 0;
  }

  // ---- public API ---------------------------------------------------------------------------

  /** The TCP connection is open: the client sends SCCRQ, the server waits for one. */
  start(): void {
    if (this.state !== 'idle') return;
    this.lastRx = this.clock.now();
    if (this.role === 'client') {
      if (this.o.collisions) this.o.collisions.add(this.peerAddr!, this);
      this.state = 'wait-ctl-reply';
      this.send(
        create(T.StartControlConnectionRequest, {
          protocolVersion: PPTP_PROTOCOL_VERSION,
          framingCapabilities: PptpFramingCapability.Asynchronous | PptpFramingCapability.Synchronous,
          bearerCapabilities: PptpBearerCapability.Analog | PptpBearerCapability.Digital,
          maxChannels: 0,
          firmwareRevision: this.o.firmwareRevision ?? 1,
          hostName: this.o.hostName ?? '',
          vendorName: this.o.vendorName ?? 'culvert',
        }),
      );
      this.setupTimer = this.clock.setTimer(this.replyTimeoutMs, () => this.fail(`${CONTROL_REASON.NO_SCCRP} within ${this.replyTimeoutMs / 1000} s`, PptpStopReason.None, false));
    } else {
      this.state = 'wait-ctl-request';
      this.setupTimer = this.clock.setTimer(this.replyTimeoutMs, () => this.closeNow(`${CONTROL_REASON.NO_SCCRQ} within ${this.replyTimeoutMs / 1000} s`));
    }
  }

  /** Feed TCP bytes. Never throws on bad input: a broken stream ends in StopCCRQ + close. */
  receive(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && this.state !== 'closed') {
      if (this.state === 'collision-wait') return; // §3.1.3: nothing on this connection matters
      // Fill the header, then the message, into rxBuf (messages are at most 220 octets).
      const need = this.rxLen < 8 ? 8 : this.frameLength();
      if (need < 0) return; // fatal already handled
      const take = Math.min(need - this.rxLen, chunk.length - pos);
      this.rxBuf.set(chunk.subarray(pos, pos + take), this.rxLen);
      this.rxLen += take;
      pos += take;
      if (this.rxLen < 8) return;
      const len = this.frameLength();
      if (len < 0) return;
      if (this.rxLen < len) continue;
      this.rxLen = 0;
      this.dispatchRaw(this.rxBuf.subarray(0, len));
    }
  }

  /** The peer closed TCP (or the connection broke): no more writes. */
  tcpClosed(): void {
    if (this.state === 'closed') return;
    const partial = this.rxLen > 0;
    this.closeNow(partial ? `${CONTROL_REASON.PEER_CLOSED} in the middle of a message` : this.state === 'collision-wait' ? CONTROL_REASON.COLLISION_WON : CONTROL_REASON.PEER_CLOSED);
  }

  /** Client: place an outgoing call (sent as soon as the connection is established). */
  placeCall(p: PlaceCallOptions): ControlCall {
    if (this.role !== 'client') throw new ConfigError('CONFIG_ERR_INVALID_VALUE', 'only the client places outgoing calls');
    if (this.calls.has(p.callId)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `Call ID ${p.callId} is in use`);
    const call = this.newCall(p.callId, -1, 'wait-reply');
    if (this.state === 'established') this.sendOcrq(p);
    else this.pendingCalls.push(p);
    return call;
  }

  /** Calls currently known. */
  get activeCalls(): ControlCall[] {
    return [...this.calls.values()];
  }

  callById(localCallId: number): ControlCall | undefined {
    return this.calls.get(localCallId);
  }

  /**
   * Clear a call from our side: the client sends Call-Clear-Request and waits for the
   * Call-Disconnect-Notify; the server (PAC) sends Call-Disconnect-Notify (§2.12, §2.13).
   */
  clearCall(call: ControlCall, reason: string, cdnResult: number = PptpCdnResult.AdminShutdown): void {
    if (call.state === 'closed' || call.state === 'wait-disconnect') return;
    call.clearedByUs = true;
    call.reason ??= reason;
    if (this.state !== 'established' || call.peerCallId < 0) {
      this.callDown(call, reason);
      return;
    }
    if (this.role === 'client') {
      call.state = 'wait-disconnect';
      this.send(create(T.CallClearRequest, { callId: call.localCallId }));
      this.armCallTimer(call, () => this.callDown(call, `${reason} (no Call-Disconnect-Notify)`));
    } else {
      this.sendCdn(call, cdnResult);
      this.callDown(call, reason);
    }
  }

  /**
   * Send Set-Link-Info for a call (§2.15): carries the ACCMs. The GRE channel carries
   * unframed PPP, so the values only have to keep real peers quiet: pptpd calls
   * 0xFFFFFFFF (the RFC default) "standard" and ignores anything else, while pptp-linux
   * warns "Non-zero Async Control Character Maps are not supported". So by default the
   * client (talking to a PAC such as pptpd) sends 0xFFFFFFFF and the server sends 0.
   */
  setLinkInfo(call: ControlCall, sendAccm?: number, receiveAccm?: number): void {
    const def = this.role === 'client' ? DEFAULT_ACCM : 0;
    sendAccm ??= def;
    receiveAccm ??= def;
    if (this.state !== 'established' || call.state === 'closed' || call.peerCallId < 0) return;
    // Peer's Call ID field: the receiver's own Call ID (the PAC's, when the PNS sends it).
    this.send(create(T.SetLinkInfo, { peerCallId: call.peerCallId, sendAccm: sendAccm >>> 0, receiveAccm: receiveAccm >>> 0 }));
  }

  /**
   * Stop the control connection (§2.3): calls are dropped, StopCCRQ is sent and the
   * reply awaited (then TCP closes). Before established, just closes.
   */
  stop(reason: string = CONTROL_REASON.STOPPED, stopReason: number = PptpStopReason.StopLocalShutdown): void {
    if (this.state === 'closed' || this.state === 'wait-stop-reply') return;
    if (this.state !== 'established') {
      this.closeNow(reason);
      return;
    }
    this.reason ??= reason;
    this.dropCalls(reason);
    this.sendStop(stopReason);
    this.stopTimer = this.clock.setTimer(this.replyTimeoutMs, () => this.closeNow(this.reason ?? CONTROL_REASON.NO_STOP_REPLY));
  }

  /**
   * Fatal error: StopCCRQ carrying `stopReason` (when the peer can still parse it), then
   * close at once without waiting for the reply.
   */
  fail(reason: string, stopReason: number = PptpStopReason.None, sendStop = true): void {
    if (this.state === 'closed') return;
    this.o.log?.(`control connection error: ${reason}`);
    if (sendStop && this.state !== 'collision-wait' && this.state !== 'idle') this.sendStop(stopReason);
    this.closeNow(reason);
  }

  /** Collision lost (§3.1.3): close this connection without another message. */
  abandon(reason: string): void {
    if (this.state === 'closed') return;
    this.closeNow(reason);
  }

  // ---- framing ------------------------------------------------------------------------------

  /** Length of the message in rxBuf (needs 8 octets), or -1 after a fatal framing error. */
  private frameLength(): number {
    try {
      return checkFixedHeader(this.rxBuf, 0, PPTP_MAX_MESSAGE_LENGTH);
    } catch (e) {
      this.framingError(e);
      return -1;
    }
  }

  private framingError(e: unknown): void {
    const code = e instanceof CodecError ? e.code : 'PPTP_ERR_INTERNAL';
    const msg = e instanceof Error ? e.message : String(e);
    this.rxLen = 0;
    // §1.4: lost synchronisation means the TCP session must be closed at once.
    this.fail(`malformed control stream (${code}): ${msg}`, PptpStopReason.None);
  }

  private dispatchRaw(bytes: Uint8Array): void {
    const type = (bytes[8] << 8) | bytes[9];
    if (PPTP_CONTROL_TYPE_NAMES[type] === undefined) {
      // Unknown Control Message Type: the Length keeps us in sync, so skip it.
      this.stats.unknown++;
      this.o.log?.(`ignoring unknown control message type ${type}`);
      return;
    }
    let msg: PptpControlMessage;
    try {
      msg = decode(bytes, 0, { strict: this.strict });
    } catch (e) {
      this.framingError(e);
      return;
    }
    const name = PPTP_CONTROL_TYPE_NAMES[msg.type];
    this.stats.rx[name] = (this.stats.rx[name] ?? 0) + 1;
    this.lastRx = this.clock.now();
    this.dispatch(msg);
  }

  // ---- dispatch -----------------------------------------------------------------------------

  private dispatch(m: PptpControlMessage): void {
    switch (m.type) {
      case T.StartControlConnectionRequest:
        return this.onSccrq(m);
      case T.StartControlConnectionReply:
        return this.onSccrp(m);
      case T.StopControlConnectionRequest:
        // §3.1.1/§3.1.2: reply and close, in any state.
        this.send(create(T.StopControlConnectionReply, { resultCode: PptpStopResult.Ok, errorCode: 0 }));
        this.closeNow(`${CONTROL_REASON.PEER_STOPPED} (${STOP_TEXT[m.reason] ?? `reason ${m.reason}`})`);
        return;
      case T.StopControlConnectionReply:
        if (this.state !== 'wait-stop-reply') return this.unexpected(m);
        this.closeNow(this.reason ?? CONTROL_REASON.STOPPED);
        return;
      case T.EchoRequest:
        // Answered in every state where we talk at all (§2.5).
        this.send(create(T.EchoReply, { identifier: m.identifier, resultCode: PptpEchoResult.Ok, errorCode: 0 }));
        return;
      case T.EchoReply:
        if (this.echoId >= 0 && m.identifier === this.echoId) {
          this.echoId = -1;
          this.armKeepalive();
        } else this.stats.strayEchoReplies++;
        return;
      case T.OutgoingCallRequest:
        return this.onOcrq(m);
      case T.OutgoingCallReply:
        return this.onOcrp(m);
      case T.IncomingCallRequest:
        if (this.role === 'client' && this.state === 'established') {
          // We place calls, we do not take them (§2.10 Result 3: do not accept).
          this.send(create(T.IncomingCallReply, { callId: 0, peerCallId: m.callId, resultCode: PptpIcrpResult.DoNotAccept, errorCode: 0 }));
          return;
        }
        return this.unexpected(m);
      case T.CallClearRequest:
        return this.onCallClear(m.callId);
      case T.CallDisconnectNotify:
        return this.onCdn(m);
      case T.WanErrorNotify:
        this.stats.wanErrors++;
        this.o.log?.(`WAN-Error-Notify for call ${m.peerCallId}: crc ${m.crcErrors} framing ${m.framingErrors} overruns ${m.hardwareOverruns}/${m.bufferOverruns} timeouts ${m.timeoutErrors}`);
        return;
      case T.SetLinkInfo:
        return this.onSli(m);
      default:
        return this.unexpected(m);
    }
  }

  private unexpected(m: PptpControlMessage): void {
    this.stats.unexpected++;
    this.o.log?.(`ignoring ${PPTP_CONTROL_TYPE_NAMES[m.type]} in state ${this.state}`);
  }

  private onSccrq(m: StartControlConnectionRequest): void {
    if (this.role === 'client' || this.state === 'established') {
      if (this.state === 'established') {
        // §2.2 Result 3: a command channel already exists.
        this.send(create(T.StartControlConnectionReply, { ...this.ourCaps(), resultCode: PptpSccrpResult.AlreadyExists, errorCode: 0 }));
        return;
      }
      return this.unexpected(m);
    }
    if (this.state !== 'wait-ctl-request') return this.unexpected(m);
    if (this.o.collisions && this.o.collisions.resolve(this.peerAddr!) === 'wait') {
      this.o.log?.(CONTROL_REASON.COLLISION_WON);
      this.clearSetupTimer();
      this.state = 'collision-wait';
      // The loser closes this connection; do not wait forever if it does not.
      this.setupTimer = this.clock.setTimer(this.replyTimeoutMs, () => this.closeNow(CONTROL_REASON.COLLISION_WON));
      return;
    }
    if (m.protocolVersion < PPTP_PROTOCOL_VERSION) {
      // §3.1.2: an older version we cannot support: reply with the error and close.
      this.send(create(T.StartControlConnectionReply, { ...this.ourCaps(), resultCode: PptpSccrpResult.VersionNotSupported, errorCode: 0 }));
      this.closeNow(`peer's protocol version ${m.protocolVersion >> 8}.${m.protocolVersion & 0xff} is not supported`);
      return;
    }
    this.send(create(T.StartControlConnectionReply, { ...this.ourCaps(), resultCode: PptpSccrpResult.Success, errorCode: 0 }));
    this.established(m);
  }

  private onSccrp(m: StartControlConnectionReply): void {
    if (this.role !== 'client' || this.state !== 'wait-ctl-reply') return this.unexpected(m);
    if (m.resultCode !== PptpSccrpResult.Success) {
      this.closeNow(`peer refused the control connection: ${resultText(SCCRP_TEXT, m.resultCode, m.errorCode)}`);
      return;
    }
    if (m.protocolVersion !== PPTP_PROTOCOL_VERSION) {
      // §3.1.1: version not OK -> StopCCRQ (Reason 2) and wait_stop_reply.
      this.clearSetupTimer();
      this.state = 'established';
      this.stop(`peer's protocol version ${m.protocolVersion >> 8}.${m.protocolVersion & 0xff} is not supported`, PptpStopReason.StopProtocol);
      return;
    }
    this.established(m);
  }

  private established(m: StartControlConnectionRequest | StartControlConnectionReply): void {
    this.clearSetupTimer();
    if (this.o.collisions && this.role === 'client') this.o.collisions.remove(this.peerAddr!, this);
    this.state = 'established';
    this.peerInfo = m;
    this.o.log?.(`control connection established with ${m.hostName || '(no host name)'} ${m.vendorName ? `(${m.vendorName})` : ''}`.trimEnd());
    this.armKeepalive();
    this.o.onEstablished?.(m);
    const pending = this.pendingCalls;
    this.pendingCalls = [];
    for (const p of pending) if (this.state === 'established') this.sendOcrq(p);
  }

  private ourCaps() {
    return {
      protocolVersion: PPTP_PROTOCOL_VERSION,
      framingCapabilities: PptpFramingCapability.Asynchronous | PptpFramingCapability.Synchronous,
      bearerCapabilities: PptpBearerCapability.Analog | PptpBearerCapability.Digital,
      maxChannels: this.o.maxChannels ?? 1,
      firmwareRevision: this.o.firmwareRevision ?? 1,
      hostName: this.o.hostName ?? '',
      vendorName: this.o.vendorName ?? 'culvert',
    };
  }

  // ---- calls --------------------------------------------------------------------------------

  private newCall(localCallId: number, peerCallId: number, state: CallState): ControlCall {
    const call: ControlCall = {
      localCallId,
      peerCallId,
      state,
      peerWindow: 0,
      peerProcessingDelay: 0,
      connectSpeed: 0,
      peerSendAccm: DEFAULT_ACCM,
      peerReceiveAccm: DEFAULT_ACCM,
      clearedByUs: false,
    };
    this.calls.set(localCallId, call);
    this.hadCall = true;
    this.lingerTimer?.cancel();
    this.lingerTimer = undefined;
    return call;
  }

  private sendOcrq(p: PlaceCallOptions): void {
    const call = this.calls.get(p.callId);
    if (!call || call.state !== 'wait-reply') return;
    this.send(
      create(T.OutgoingCallRequest, {
        callId: p.callId,
        callSerialNumber: p.callSerialNumber ?? 0,
        minimumBps: p.minimumBps ?? 2400,
        maximumBps: p.maximumBps ?? 10_000_000,
        bearerType: 3,
        framingType: 3,
        receiveWindowSize: p.window ?? 64,
        processingDelay: p.processingDelay ?? 0,
        phoneNumber: p.phoneNumber ?? '',
        subaddress: p.subaddress ?? '',
      }),
    );
    this.armCallTimer(call, () => this.callDown(call, `${CONTROL_REASON.NO_OCRP} within ${this.replyTimeoutMs / 1000} s`));
  }

  private onOcrq(m: OutgoingCallRequest): void {
    const refuse = (resultCode: number, errorCode = 0, causeCode = 0) =>
      this.send(create(T.OutgoingCallReply, { callId: 0, peerCallId: m.callId, resultCode, errorCode, causeCode }));
    if (this.role !== 'server') return refuse(PptpOcrpResult.DoNotAccept);
    // §2.16 error 1: no control connection exists yet.
    if (this.state !== 'established') return refuse(PptpOcrpResult.GeneralError, PptpGeneralError.NotConnected);
    if (this.calls.size >= (this.o.maxChannels ?? 1)) return refuse(PptpOcrpResult.GeneralError, PptpGeneralError.NoResource);
    const d: OutgoingCallDecision = this.o.onOutgoingCall ? this.o.onOutgoingCall(m) : { accept: false, resultCode: PptpOcrpResult.DoNotAccept };
    if (!d.accept) return refuse(d.resultCode, d.errorCode ?? 0, d.causeCode ?? 0);
    if (this.calls.has(d.callId)) return refuse(PptpOcrpResult.GeneralError, PptpGeneralError.NoResource);
    const call = this.newCall(d.callId, m.callId, 'established');
    call.peerWindow = m.receiveWindowSize;
    call.peerProcessingDelay = m.processingDelay;
    call.connectSpeed = d.connectSpeed ?? m.maximumBps;
    this.send(
      create(T.OutgoingCallReply, {
        callId: d.callId,
        peerCallId: m.callId,
        resultCode: PptpOcrpResult.Connected,
        errorCode: 0,
        causeCode: 0,
        connectSpeed: call.connectSpeed,
        receiveWindowSize: d.window ?? 64,
        processingDelay: d.processingDelay ?? 0,
        physicalChannelId: 0,
      }),
    );
    this.o.onCallUp?.(call);
  }

  private onOcrp(m: OutgoingCallReply): void {
    const call = this.calls.get(m.peerCallId);
    if (this.role !== 'client' || !call || call.state !== 'wait-reply') return this.unexpected(m);
    this.cancelCallTimer(call);
    if (m.resultCode !== PptpOcrpResult.Connected) {
      this.callDown(call, `call refused: ${resultText(OCRP_TEXT, m.resultCode, m.errorCode)}`);
      return;
    }
    call.peerCallId = m.callId;
    call.peerWindow = m.receiveWindowSize;
    call.peerProcessingDelay = m.processingDelay;
    call.connectSpeed = m.connectSpeed;
    call.state = 'established';
    this.o.onCallUp?.(call);
  }

  private findByPeerId(id: number): ControlCall | undefined {
    for (const c of this.calls.values()) if (c.peerCallId === id) return c;
    return undefined;
  }

  private onCallClear(peerCallId: number): void {
    // Normally PNS -> PAC with the PNS's Call ID (§2.12); tolerated the other way too.
    const call = this.findByPeerId(peerCallId) ?? (this.role === 'client' ? this.calls.get(peerCallId) : undefined);
    if (this.state !== 'established' || !call || call.state === 'closed') {
      this.stats.unexpected++;
      return;
    }
    this.cancelCallTimer(call);
    call.reason ??= CONTROL_REASON.PEER_CLEARED;
    // §2.13 Result 4: disconnected because of a Call-Clear-Request.
    this.sendCdn(call, PptpCdnResult.Request);
    this.callDown(call, call.reason);
  }

  private onCdn(m: CallDisconnectNotify): void {
    // The PAC names its own Call ID (§2.13), i.e. our peerCallId.
    const call = this.findByPeerId(m.callId);
    if (!call || call.state === 'closed') {
      this.stats.unexpected++;
      return;
    }
    this.cancelCallTimer(call);
    const why = `call disconnected by peer: ${resultText(CDN_TEXT, m.resultCode, m.errorCode)}${m.causeCode ? ` cause ${m.causeCode}` : ''}${m.callStatistics ? ` [${m.callStatistics}]` : ''}`;
    this.callDown(call, call.clearedByUs ? (call.reason ?? why) : why);
  }

  private onSli(m: SetLinkInfo): void {
    // Peer's Call ID field = the receiver's own Call ID (see setLinkInfo).
    const call = this.calls.get(m.peerCallId) ?? this.findByPeerId(m.peerCallId);
    if (this.state !== 'established' || !call || call.state === 'closed') {
      this.stats.unexpected++;
      return;
    }
    call.peerSendAccm = m.sendAccm;
    call.peerReceiveAccm = m.receiveAccm;
    this.o.onSetLinkInfo?.(call, m);
  }

  private sendCdn(call: ControlCall, result: number): void {
    this.send(create(T.CallDisconnectNotify, { callId: call.localCallId, resultCode: result, errorCode: 0, causeCode: 0, callStatistics: '' }));
  }

  private callDown(call: ControlCall, reason: string): void {
    if (call.state === 'closed') return;
    this.cancelCallTimer(call);
    call.state = 'closed';
    call.reason ??= reason;
    this.calls.delete(call.localCallId);
    this.o.onCallDown?.(call, call.reason);
    if (this.calls.size === 0 && this.hadCall && this.state === 'established') {
      // The side that cleared stops the connection now; the other waits for its StopCCRQ.
      if (call.clearedByUs || this.lingerMs === 0) this.stop(CONTROL_REASON.NO_CALLS, PptpStopReason.None);
      else {
        this.lingerTimer?.cancel();
        this.lingerTimer = this.clock.setTimer(this.lingerMs, () => {
          this.lingerTimer = undefined;
          if (this.calls.size === 0 && this.state === 'established') this.stop(CONTROL_REASON.NO_CALLS, PptpStopReason.None);
        });
      }
    }
  }

  private armCallTimer(call: ControlCall, fn: () => void): void {
    this.cancelCallTimer(call);
    this.callTimers.set(call.localCallId, this.clock.setTimer(this.replyTimeoutMs, () => {
      this.callTimers.delete(call.localCallId);
      fn();
    }));
  }

  private cancelCallTimer(call: ControlCall): void {
    const t = this.callTimers.get(call.localCallId);
    if (t) {
      t.cancel();
      this.callTimers.delete(call.localCallId);
    }
  }

  private dropCalls(reason: string): void {
    for (const call of [...this.calls.values()]) {
      this.cancelCallTimer(call);
      call.state = 'closed';
      call.reason ??= reason;
      this.calls.delete(call.localCallId);
      this.o.onCallDown?.(call, call.reason);
    }
  }

  // ---- keepalive (§3.1.4) -------------------------------------------------------------------

  private armKeepalive(): void {
    if (this.kaTimer) return;
    const due = this.echoId >= 0 ? this.echoSentAt + this.maxEchoWaitMs : this.lastRx + this.idleWaitMs;
    this.kaTimer = this.clock.setTimer(Math.max(0, due - this.clock.now()), () => {
      this.kaTimer = undefined;
      this.keepaliveTick();
    });
  }

  private keepaliveTick(): void {
    if (this.state !== 'established' && this.state !== 'wait-stop-reply') return;
    const now = this.clock.now();
    if (this.echoId >= 0) {
      if (now - this.echoSentAt >= this.maxEchoWaitMs) {
        this.fail(`${CONTROL_REASON.NO_ECHO_REPLY} within ${this.maxEchoWaitMs / 1000} s`, PptpStopReason.None);
        return;
      }
    } else if (now - this.lastRx >= this.idleWaitMs) {
      this.echoId = this.nextEchoId;
      this.nextEchoId = (this.nextEchoId + 1) >>> 0;
      this.echoSentAt = now;
      this.send(create(T.EchoRequest, { identifier: this.echoId }));
    }
    this.armKeepalive();
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private sendStop(reason: number): void {
    if (this.state === 'closed') return;
    this.state = 'wait-stop-reply';
    this.send(create(T.StopControlConnectionRequest, { reason }));
  }

  private send(m: PptpControlMessage): void {
    if (this.state === 'closed' || this.state === 'collision-wait') return;
    const name = PPTP_CONTROL_TYPE_NAMES[m.type];
    this.stats.tx[name] = (this.stats.tx[name] ?? 0) + 1;
    this.o.onWrite(encode(m));
  }

  private clearSetupTimer(): void {
    this.setupTimer?.cancel();
    this.setupTimer = undefined;
  }

  private closeNow(reason: string): void {
    if (this.state === 'closed') return;
    this.reason ??= reason;
    this.dropCalls(this.reason);
    this.state = 'closed';
    this.clearSetupTimer();
    this.stopTimer?.cancel();
    this.lingerTimer?.cancel();
    this.kaTimer?.cancel();
    this.setupTimer = this.stopTimer = this.lingerTimer = this.kaTimer = undefined;
    for (const t of this.callTimers.values()) t.cancel();
    this.callTimers.clear();
    this.pendingCalls = [];
    if (this.o.collisions && this.role === 'client') this.o.collisions.remove(this.peerAddr!, this);
    this.o.log?.(`control connection closed: ${this.reason}`);
    this.o.onClose(this.reason);
  }
}
