/**
 * One L2TP tunnel (control connection), sans-I/O: RFC 2661 §7.2 (SCCRQ / SCCRP / SCCCN),
 * tunnel authentication (§5.1.1), Hello keepalive (§5.5), StopCCN teardown with the hold
 * state (§5.7), and the sessions inside it. Reliable delivery is ReliableChannel.
 *
 * The tunnel never throws at its caller: a message it cannot use is counted, and one that
 * breaks the protocol is answered with StopCCN (tunnel messages) or CDN (session messages)
 * carrying a Result Code (§4.4.2) before the tunnel or session is cleared.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import { CodecError, ConfigError } from '../../errors.js';
import type { L2tpAvps, L2tpResultCode } from '../../codec/l2tp/attributes.js';
import { L2tpAttr } from '../../codec/l2tp/attributes.js';
import { decodeRawAvps } from '../../codec/l2tp/avp.js';
import { challengeResponse, verifyChallengeResponse } from '../../codec/l2tp/challenge.js';
import { createL2tpHeader, tryDecodeHeaderInto, type L2tpHeader } from '../../codec/l2tp/header.js';
import type { Secret } from '../../codec/l2tp/hidden.js';
import { decodeControlMessage, encodeControlMessage, L2tpMessageError, type L2tpControl } from '../../codec/l2tp/message.js';
import { isTunnelMessage, L2TP_MESSAGE_TYPE_NAMES, L2tpMessageType } from '../../codec/l2tp/message-types.js';
import { L2tpCdnResult, L2tpFraming, L2tpGeneralError, L2tpStopCcnResult } from '../../codec/l2tp/result-codes.js';
import { ReliableChannel, type ReliableStats } from './reliable.js';
import { L2tpSession, type SessionHost, type SessionRole } from './session.js';

export interface PeerAddress {
  address: string;
  port: number;
}

export type TunnelState = 'idle' | 'wait-ctl-reply' | 'wait-ctl-conn' | 'established' | 'closing' | 'closed';

/** Send one datagram to `peer` (the io layer's UDP socket). The view is valid only during the call. */
export type SendFn = (buf: Uint8Array, off: number, len: number, peer: PeerAddress) => void;

export interface TunnelOptions {
  clock: Clock;
  /** 'lac' places calls (ICRQ), 'lns' answers them. */
  role: SessionRole;
  localTunnelId: number;
  peer: PeerAddress;
  hostName: string;
  vendorName?: string;
  /** Tunnel secret (§5.1.1): challenge the peer and answer its challenge. Never logged. */
  secret?: Secret;
  /** Hide the hideable AVPs of session messages with the secret (§4.3). */
  hideAvps?: boolean;
  /** Our Receive Window Size, default 4. */
  receiveWindow?: number;
  /** Seconds without any message from the peer before a Hello (§5.5); 0 disables. Default 60. */
  helloInterval?: number;
  retries?: number;
  initialRtoMs?: number;
  maxRtoMs?: number;
  ackDelayMs?: number;
  /** Initiator: Tie Breaker AVP value (8 octets) for SCCRQ collisions (§4.4.3). */
  tieBreaker?: Uint8Array;
  /** LNS: number data messages (§5.4). */
  sequencing?: boolean;
  /** LAC: send Sequencing Required in ICCN. */
  sequencingRequired?: boolean;
  /** Set the L bit on data messages. */
  dataLengthBit?: boolean;
  /** LNS: calls accepted at once; more are refused with CDN result 4. */
  maxSessions?: number;
  randomBytes?: (n: number) => Uint8Array;
  send: SendFn;
  log?: (line: string) => void;
}

export type TunnelEvents = {
  up: [];
  /** The tunnel stopped carrying sessions. `result` is the StopCCN result (sent or received). */
  down: [reason: string, result: L2tpResultCode | undefined];
  /** All state is gone (after the StopCCN was acknowledged or the hold time ended). */
  closed: [];
  /** LNS: a new call arrived (ICRQ); attach handlers before it comes up. */
  session: [session: L2tpSession];
};

/** Per-reason counters of what the tunnel refused or ignored. */
export interface TunnelCounters {
  duplicates: number;
  nsOutOfWindow: number;
  badNr: number;
  unknownSession: number;
  decodeErrors: Record<string, number>;
  ignoredMessages: number;
  unknownAvpsIgnored: number;
  fsmErrors: number;
  /** Data drops of this tunnel's sessions that have closed (live ones keep their own). */
  closedSessionDataDrops: { sequence: number; notReady: number; headroom: number };
}

const PROTOCOL_VERSION = { version: 1, revision: 0 } as const;
/** §4.4.2: with result 5, the Error Code carries the highest version supported. */
const HIGHEST_VERSION = 0x0100;
/** LNS: data frames kept while a call's ICCN may be waiting in the reorder queue. */
const MAX_HELD_FRAMES = 8;
const LENGTH_ERRORS = new Set(['L2TP_ERR_HIDDEN_AVP_LENGTH', 'L2TP_ERR_AVP_TRUNCATED', 'L2TP_ERR_AVP_LENGTH', 'L2TP_ERR_AVP_VALUE_LENGTH']);

/** Throws ConfigError CONFIG_ERR_INVALID_VALUE for settings a tunnel cannot work with. */
export function validateTunnelOptions(o: Pick<TunnelOptions, 'hostName' | 'helloInterval' | 'maxSessions' | 'retries' | 'initialRtoMs' | 'maxRtoMs' | 'receiveWindow'>): void {
  const bad = (m: string): never => {
    throw new ConfigError('CONFIG_ERR_INVALID_VALUE', m);
  };
  const hello = o.helloInterval ?? 60;
  if (!(hello >= 0) || !Number.isFinite(hello)) bad(`l2tp keepalive-timeout ${hello}: expected seconds >= 0`);
  // §4.4.3: Host Name "MUST be at least 1 octet"; it must also fit in one AVP.
  const hn = new TextEncoder().encode(o.hostName).length;
  if (hn < 1 || hn > 1017) bad(`l2tp host name of ${hn} octets: expected 1..1017`);
  if (o.maxSessions !== undefined && !(Number.isInteger(o.maxSessions) && o.maxSessions >= 0)) bad(`l2tp max sessions ${o.maxSessions}: expected an integer >= 0`);
  const retries = o.retries ?? 5;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) bad(`l2tp retries ${retries}: expected 0..100`);
  if (!((o.initialRtoMs ?? 1000) > 0)) bad('l2tp initial retransmission interval must be positive');
  // §5.8: "This cap MUST be no less than 8 seconds per retransmission."
  if (!((o.maxRtoMs ?? 8000) >= 8000)) bad(`l2tp retransmission cap ${o.maxRtoMs} ms: must be at least 8000 (RFC 2661 §5.8)`);
  const rws = o.receiveWindow ?? 4;
  if (!Number.isInteger(rws) || rws < 1 || rws > 32767) bad(`l2tp receive window ${rws}: expected 1..32767`);
}

function describe(r: L2tpResultCode | undefined): string {
  if (!r) return 'no result code';
  return `result ${r.resultCode}${r.errorCode !== undefined ? ` error ${r.errorCode}` : ''}${r.errorMessage ? ` (${r.errorMessage})` : ''}`;
}

export class L2tpTunnel extends EventEmitter<TunnelEvents> implements SessionHost {
  readonly role: SessionRole;
  readonly localTunnelId: number;
  peerTunnelId = 0;
  peer: PeerAddress;
  state: TunnelState = 'idle';
  /** Initiator or responder of the SCCRQ exchange. */
  initiator = false;
  peerHostName: string | undefined;
  reason: string | undefined;
  readonly tieBreaker: Uint8Array | undefined;
  readonly counters: TunnelCounters = { duplicates: 0, nsOutOfWindow: 0, badNr: 0, unknownSession: 0, decodeErrors: {}, ignoredMessages: 0, unknownAvpsIgnored: 0, fsmErrors: 0, closedSessionDataDrops: { sequence: 0, notReady: 0, headroom: 0 } };
  readonly sessions = new Map<number, L2tpSession>();

  private readonly o: TunnelOptions;
  private readonly clock: Clock;
  private readonly channel: ReliableChannel;
  private readonly rnd: (n: number) => Uint8Array;
  private readonly helloMs: number;
  private ourChallenge: Uint8Array | undefined;
  private lastRx: number;
  private helloTimer: Timer | undefined;
  private holdTimer: Timer | undefined;
  private rxFrom: PeerAddress | undefined;
  private callSerial: number;
  private pendingCalls: L2tpSession[] = [];
  /** Copies of data messages for calls not yet connected while control messages wait for a gap. */
  private held: Uint8Array[] = [];
  private readonly heldHeader = createL2tpHeader();

  constructor(o: TunnelOptions) {
    super();
    this.o = o;
    this.clock = o.clock;
    this.role = o.role;
    this.localTunnelId = o.localTunnelId;
    this.peer = { ...o.peer };
    this.tieBreaker = o.tieBreaker;
    this.rnd = o.randomBytes ?? ((n) => new Uint8Array(randomBytes(n)));
    this.helloMs = (o.helloInterval ?? 60) * 1000;
    validateTunnelOptions(o);
    this.lastRx = this.clock.now();
    const b = this.rnd(4);
    this.callSerial = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    this.channel = new ReliableChannel({
      clock: o.clock,
      retries: o.retries,
      initialRtoMs: o.initialRtoMs,
      maxRtoMs: o.maxRtoMs,
      ackDelayMs: o.ackDelayMs,
      receiveWindow: o.receiveWindow,
      transmit: (buf) => this.o.send(buf, 0, buf.length, this.peer),
      deliver: (buf, h) => this.deliver(buf, h),
      onFail: (unacked) => this.transportFailed(unacked),
      onAcked: () => this.acked(),
    });
  }

  get transport(): Readonly<ReliableStats> {
    return this.channel.stats;
  }

  get reliable(): ReliableChannel {
    return this.channel;
  }

  get isUp(): boolean {
    return this.state === 'established';
  }

  // ---- public API ---------------------------------------------------------------------------

  /** Initiator: send SCCRQ (§6.1). */
  connect(): void {
    if (this.state !== 'idle') return;
    this.initiator = true;
    this.state = 'wait-ctl-reply';
    if (this.o.secret !== undefined) this.ourChallenge = this.rnd(16);
    this.sendControl(0, L2tpMessageType.SCCRQ, {
      ...this.startAvps(),
      ...(this.tieBreaker ? { tieBreaker: this.tieBreaker } : {}),
      ...(this.ourChallenge ? { challenge: this.ourChallenge } : {}),
    });
    this.log(`SCCRQ sent to ${this.peer.address}:${this.peer.port}`);
  }

  /** LAC: place a call. It goes out as soon as the tunnel is established. */
  openSession(opts: { sequencingRequired?: boolean; connectSpeed?: number } = {}): L2tpSession {
    const s = new L2tpSession(this, {
      role: 'lac',
      localId: this.allocateSessionId(),
      callSerialNumber: this.nextCallSerial(),
      sequencingRequired: opts.sequencingRequired ?? this.o.sequencingRequired,
      lengthBit: this.o.dataLengthBit,
      connectSpeed: opts.connectSpeed,
    });
    this.sessions.set(s.localId, s);
    if (this.state === 'established') s.start();
    else if (this.state === 'closing' || this.state === 'closed') queueMicrotask(() => s.tunnelDown('tunnel closed'));
    else this.pendingCalls.push(s);
    return s;
  }

  /** Tear the tunnel down with StopCCN (§5.7); every session goes with it. */
  close(result: L2tpResultCode = { resultCode: L2tpStopCcnResult.GeneralRequest }, reason?: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const why = reason ?? `tunnel cleared: ${describe(result)}`;
    if (this.peerTunnelId === 0) {
      // No SCCRP yet: the peer has nothing to address a StopCCN to (§7.2 "clean up").
      this.goDown(why, result);
      this.finishClose();
      return;
    }
    this.sendControl(0, L2tpMessageType.StopCCN, { assignedTunnelId: this.localTunnelId, resultCode: result });
    this.goDown(why, result);
    // Wait for the StopCCN's acknowledgement (or the retry limit), at most one cycle.
    this.holdTimer = this.clock.setTimer(this.channel.cycleMs, () => this.finishClose());
    if (this.channel.pending === 0) this.finishClose();
  }

  /** Drop all state without telling the peer (tie breaker lost, §4.4.3; daemon shutdown). */
  discard(reason: string): void {
    if (this.state === 'closed') return;
    this.goDown(reason, undefined);
    this.finishClose();
  }

  /** A control message for this tunnel (header decoded into `h`; `buf` is the whole message). */
  receiveControl(buf: Uint8Array, h: L2tpHeader, from: PeerAddress): void {
    if (this.state === 'closed') return;
    this.rxFrom = from;
    const before = this.channel.outstanding;
    const r = this.channel.receive(buf, h);
    switch (r) {
      case 'duplicate':
        this.counters.duplicates++;
        break;
      case 'outOfWindow':
        this.counters.nsOutOfWindow++;
        break;
      case 'badNr':
        this.counters.badNr++;
        break;
      case 'zlb':
        // Follow a moved peer only on a ZLB that acknowledged something new: a stale
        // (possibly forged) ZLB proves nothing.
        if (this.channel.outstanding < before) this.notePeer(from);
        this.touch();
        break;
      case 'queued':
        this.notePeer(from);
        this.touch();
        break;
      case 'accepted':
        if (this.held.length > 0) this.replayHeld();
        break;
    }
    this.rxFrom = undefined;
  }

  /** A data message for this tunnel: hand it to its session. */
  receiveData(buf: Uint8Array, off: number, h: L2tpHeader): void {
    const s = this.sessions.get(h.sessionId);
    if (s === undefined || this.state !== 'established') {
      this.counters.unknownSession++;
      return;
    }
    if (s.state === 'wait-connect' && this.channel.queuedEarly > 0 && this.held.length < MAX_HELD_FRAMES) {
      // The LAC sends PPP right after its ICCN; if a lost control message holds that ICCN
      // in the reorder queue, the frame is early, not wrong: keep it until the queue is
      // delivered (else the LAC's LCP waits 3 s for a restart). Without such a gap, data
      // before ICCN is the LAC's fault: the session drops and counts it (notReady).
      this.held.push(buf.slice(off, off + h.headerLength + h.payloadLength));
      return;
    }
    s.receiveData(buf, off, h);
  }

  // ---- SessionHost --------------------------------------------------------------------------

  sendSessionControl(peerSessionId: number, messageType: number, avps: L2tpAvps, onSent?: () => void): void {
    if (this.state !== 'established') return;
    this.sendControl(peerSessionId, messageType, avps, onSent);
  }

  sendData(buf: Uint8Array, off: number, len: number): void {
    this.o.send(buf, off, len, this.peer);
  }

  sessionClosed(s: L2tpSession): void {
    if (this.sessions.get(s.localId) === s) {
      this.sessions.delete(s.localId);
      const d = this.counters.closedSessionDataDrops;
      d.sequence += s.stats.drops.sequence;
      d.notReady += s.stats.drops.notReady;
      d.headroom += s.stats.drops.headroom;
    }
    const i = this.pendingCalls.indexOf(s);
    if (i >= 0) this.pendingCalls.splice(i, 1);
  }

  /** After in-order delivery: data kept for calls whose ICCN may have just been delivered. */
  private replayHeld(): void {
    const frames = this.held;
    this.held = [];
    const h = this.heldHeader;
    for (const f of frames) {
      if (this.state !== 'established') {
        this.counters.closedSessionDataDrops.notReady++;
        continue;
      }
      if (tryDecodeHeaderInto(f, 0, f.length, h) < 0) continue;
      const s = this.sessions.get(h.sessionId);
      if (s === undefined) {
        this.counters.unknownSession++;
        continue;
      }
      // Still a gap and still no ICCN: keep waiting (bounded by MAX_HELD_FRAMES).
      if (s.state === 'wait-connect' && this.channel.queuedEarly > 0) this.held.push(f);
      else s.receiveData(f, 0, h);
    }
  }

  /** Something arrived from the peer: postpone the Hello. */
  touch(): void {
    this.lastRx = this.clock.now();
  }

  log(line: string): void {
    this.o.log?.(`l2tp tunnel ${this.localTunnelId}/${this.peerTunnelId}: ${line}`);
  }

  // ---- receive ------------------------------------------------------------------------------

  private deliver(buf: Uint8Array, h: L2tpHeader): void {
    if (this.rxFrom) this.notePeer(this.rxFrom);
    this.touch();
    if (this.state === 'closing' || this.state === 'closed') return;
    let m: L2tpControl;
    try {
      const d = decodeControlMessage(buf, { secret: this.o.secret });
      if (d.zlb) return;
      m = d;
    } catch (e) {
      this.badMessage(e, buf, h);
      return;
    }
    if (m.unknownAvps.length > 0) this.counters.unknownAvpsIgnored += m.unknownAvps.length;
    const t = m.messageType;
    switch (t) {
      case L2tpMessageType.SCCRQ:
        return this.onSccrq(m);
      case L2tpMessageType.SCCRP:
        return this.onSccrp(m);
      case L2tpMessageType.SCCCN:
        return this.onScccn(m);
      case L2tpMessageType.StopCCN:
        return this.onStopCcn(m);
      case L2tpMessageType.HELLO:
        return; // the transport acknowledges it; that is all a Hello asks for
    }
    if (this.state !== 'established') return this.fsmError(t);
    switch (t) {
      case L2tpMessageType.ICRQ:
        return this.onIcrq(m);
      case L2tpMessageType.OCRQ:
        // Outgoing calls are not offered: refuse this one (§6.6 answer by CDN).
        return this.refuseCall(m.avps.assignedSessionId ?? 0, { resultCode: L2tpCdnResult.PermanentNoFacilities, errorCode: L2tpGeneralError.None, errorMessage: 'outgoing calls not supported' });
      default: {
        let s = this.sessions.get(m.header.sessionId);
        if (s === undefined && m.header.sessionId === 0 && t === L2tpMessageType.CDN && m.avps.assignedSessionId) {
          // A LAC withdrawing its ICRQ before our ICRP reached it only knows its own ID.
          for (const x of this.sessions.values()) if (x.peerId === m.avps.assignedSessionId) s = x;
        }
        if (s === undefined) {
          this.counters.unknownSession++;
          return;
        }
        s.receiveControl(m);
      }
    }
  }

  private onSccrq(m: L2tpControl): void {
    if (this.state !== 'idle') return this.fsmError(m.messageType);
    this.state = 'wait-ctl-conn';
    const a = m.avps;
    this.peerTunnelId = a.assignedTunnelId ?? 0;
    this.channel.peerTunnelId = this.peerTunnelId;
    this.peerHostName = a.hostName;
    if (!this.checkStart(m)) return;
    let response: Uint8Array | undefined;
    if (a.challenge) {
      if (this.o.secret === undefined) return this.refuse(L2tpStopCcnResult.NotAuthorized, 'peer sent a Challenge but no tunnel secret is configured');
      response = challengeResponse(L2tpMessageType.SCCRP, this.o.secret, a.challenge);
    }
    if (this.o.secret !== undefined) this.ourChallenge = this.rnd(16);
    this.sendControl(0, L2tpMessageType.SCCRP, {
      ...this.startAvps(),
      ...(this.ourChallenge ? { challenge: this.ourChallenge } : {}),
      ...(response ? { challengeResponse: response } : {}),
    });
    this.log(`SCCRQ from ${a.hostName} accepted`);
  }

  private onSccrp(m: L2tpControl): void {
    if (this.state !== 'wait-ctl-reply') return this.fsmError(m.messageType);
    const a = m.avps;
    this.peerTunnelId = a.assignedTunnelId ?? 0;
    this.channel.peerTunnelId = this.peerTunnelId;
    this.peerHostName = a.hostName;
    if (!this.checkStart(m)) return;
    if (this.ourChallenge) {
      const ok = a.challengeResponse !== undefined && verifyChallengeResponse(L2tpMessageType.SCCRP, this.o.secret!, this.ourChallenge, a.challengeResponse);
      if (!ok) return this.refuse(L2tpStopCcnResult.NotAuthorized, 'tunnel authentication failed (Challenge Response mismatch)');
    }
    let response: Uint8Array | undefined;
    if (a.challenge) {
      if (this.o.secret === undefined) return this.refuse(L2tpStopCcnResult.NotAuthorized, 'peer sent a Challenge but no tunnel secret is configured');
      response = challengeResponse(L2tpMessageType.SCCCN, this.o.secret, a.challenge);
    }
    this.sendControl(0, L2tpMessageType.SCCCN, response ? { challengeResponse: response } : {});
    this.establish();
  }

  private onScccn(m: L2tpControl): void {
    if (this.state !== 'wait-ctl-conn') return this.fsmError(m.messageType);
    if (this.ourChallenge) {
      const r = m.avps.challengeResponse;
      const ok = r !== undefined && verifyChallengeResponse(L2tpMessageType.SCCCN, this.o.secret!, this.ourChallenge, r);
      if (!ok) return this.refuse(L2tpStopCcnResult.NotAuthorized, 'tunnel authentication failed (Challenge Response mismatch)');
    }
    this.establish();
  }

  private onStopCcn(m: L2tpControl): void {
    // §5.7: acknowledge at once, then hold the state a full retransmission cycle so that
    // retransmissions of the StopCCN are acknowledged too.
    this.channel.ackNow();
    const r = m.avps.resultCode;
    this.goDown(`peer closed the tunnel (StopCCN ${describe(r)})`, r, true);
    this.holdTimer = this.clock.setTimer(this.channel.cycleMs, () => this.finishClose());
  }

  private onIcrq(m: L2tpControl): void {
    if (this.role !== 'lns') {
      return this.refuseCall(m.avps.assignedSessionId ?? 0, { resultCode: L2tpCdnResult.PermanentNoFacilities, errorCode: L2tpGeneralError.None, errorMessage: 'this side does not answer calls' });
    }
    const peerId = m.avps.assignedSessionId;
    if (!peerId || m.avps.callSerialNumber === undefined) {
      return this.refuseCall(peerId ?? 0, { resultCode: L2tpCdnResult.GeneralError, errorCode: L2tpGeneralError.BadValue, errorMessage: 'ICRQ without Assigned Session ID or Call Serial Number' });
    }
    if (this.o.maxSessions !== undefined && this.sessions.size >= this.o.maxSessions) {
      return this.refuseCall(peerId, { resultCode: L2tpCdnResult.TemporaryNoFacilities, errorCode: L2tpGeneralError.NoResources, errorMessage: 'session limit reached' });
    }
    const s = new L2tpSession(this, {
      role: 'lns',
      localId: this.allocateSessionId(),
      callSerialNumber: m.avps.callSerialNumber,
      sequencing: this.o.sequencing,
      lengthBit: this.o.dataLengthBit,
    });
    s.peerId = peerId;
    this.sessions.set(s.localId, s);
    // Listeners may refuse the call by closing the session (CDN) right here.
    this.emit('session', s);
    if (s.state === 'closed') return;
    s.answer(m);
  }

  /** Validate the AVPs shared by SCCRQ and SCCRP (§6.1, §6.2). */
  private checkStart(m: L2tpControl): boolean {
    const a = m.avps;
    const name = L2TP_MESSAGE_TYPE_NAMES[m.messageType];
    const missing = a.protocolVersion === undefined ? 'Protocol Version' : a.hostName === undefined ? 'Host Name' : a.framingCapabilities === undefined ? 'Framing Capabilities' : a.assignedTunnelId === undefined ? 'Assigned Tunnel ID' : undefined;
    if (missing !== undefined || !this.peerTunnelId) {
      this.refuse(L2tpStopCcnResult.GeneralError, `${name} without ${missing ?? 'a valid Assigned Tunnel ID'}`, L2tpGeneralError.BadValue);
      return false;
    }
    if (a.protocolVersion!.version !== 1 || a.protocolVersion!.revision !== 0) {
      this.refuse(L2tpStopCcnResult.VersionNotSupported, `protocol version ${a.protocolVersion!.version}.${a.protocolVersion!.revision}`, HIGHEST_VERSION);
      return false;
    }
    if (a.receiveWindowSize === 0) {
      // §5.8: "A value of 0 for the Receive Window Size AVP is invalid."
      this.refuse(L2tpStopCcnResult.GeneralError, 'Receive Window Size 0', L2tpGeneralError.BadValue);
      return false;
    }
    // §4.4.3: no Receive Window Size means a window of 4.
    this.channel.setPeerWindow(a.receiveWindowSize ?? 4);
    return true;
  }

  private startAvps(): L2tpAvps {
    return {
      protocolVersion: PROTOCOL_VERSION,
      hostName: this.o.hostName,
      framingCapabilities: L2tpFraming.Synchronous | L2tpFraming.Asynchronous,
      bearerCapabilities: 0,
      firmwareRevision: 0x0100,
      ...(this.o.vendorName !== undefined ? { vendorName: this.o.vendorName } : {}),
      assignedTunnelId: this.localTunnelId,
      receiveWindowSize: this.channel.receiveWindow,
    };
  }

  private establish(): void {
    this.state = 'established';
    this.log(`established with ${this.peerHostName ?? '?'} at ${this.peer.address}:${this.peer.port}${this.o.secret !== undefined ? ' (authenticated)' : ''}`);
    this.armHello();
    this.emit('up');
    const calls = this.pendingCalls;
    this.pendingCalls = [];
    for (const s of calls) if (this.state === 'established') s.start();
  }

  /** A message that could not be decoded after it took its place in the sequence. */
  private badMessage(e: unknown, buf: Uint8Array, h: L2tpHeader): void {
    const code = e instanceof CodecError ? e.code : 'INTERNAL';
    this.counters.decodeErrors[code] = (this.counters.decodeErrors[code] ?? 0) + 1;
    if (!(e instanceof CodecError)) {
      this.log(`internal error decoding a control message: ${(e as Error)?.message}`);
      return;
    }
    if (code === 'L2TP_ERR_IGNORABLE_MESSAGE_TYPE') return; // M bit clear: may be ignored
    const me = e instanceof L2tpMessageError ? e : undefined;
    const mt = me?.messageType;
    let errorCode: number = LENGTH_ERRORS.has(code) ? L2tpGeneralError.BadLength : L2tpGeneralError.BadValue;
    let what = e.message;
    if (code === 'L2TP_ERR_UNKNOWN_MANDATORY_AVP') {
      // §4.2 / §4.4.2 error code 8: the message should name the AVP.
      errorCode = L2tpGeneralError.UnknownMandatoryAvp;
      what = `unknown mandatory AVP: vendor ${me?.vendorId ?? '?'} attribute ${me?.attributeType ?? '?'}`;
    }
    const result = { resultCode: L2tpStopCcnResult.GeneralError, errorCode, errorMessage: what };
    const tunnelLevel = code === 'L2TP_ERR_UNKNOWN_MESSAGE_TYPE' || (mt !== undefined ? isTunnelMessage(mt) : h.sessionId === 0);
    if (tunnelLevel || this.state !== 'established') {
      this.close(result, `tunnel cleared: ${what}`);
      return;
    }
    if (h.sessionId !== 0) {
      const s = this.sessions.get(h.sessionId);
      if (s === undefined) {
        this.counters.unknownSession++;
        return;
      }
      s.fail({ resultCode: L2tpCdnResult.GeneralError, errorCode, errorMessage: what });
      return;
    }
    // A call request (Session ID 0 in the header): clear that call, named by its clear-text
    // Assigned Session ID if we can find one.
    let peerSession = 0;
    try {
      for (const a of decodeRawAvps(buf, h.headerLength, h.length)) {
        if (a.vendorId === 0 && a.attributeType === L2tpAttr.AssignedSessionId && !a.hidden && a.value.length === 2) peerSession = (a.value[0] << 8) | a.value[1];
      }
    } catch {
      // AVP framing broken: nothing more to learn.
    }
    if (peerSession === 0) return;
    this.refuseCall(peerSession, { resultCode: L2tpCdnResult.GeneralError, errorCode, errorMessage: what });
  }

  private fsmError(t: number): void {
    this.counters.fsmErrors++;
    this.close({ resultCode: L2tpStopCcnResult.FsmError, errorCode: L2tpGeneralError.None, errorMessage: `unexpected ${L2TP_MESSAGE_TYPE_NAMES[t] ?? t} in state ${this.state}` });
  }

  private refuse(resultCode: number, why: string, errorCode?: number): void {
    this.log(`refusing tunnel: ${why}`);
    this.close({ resultCode, ...(errorCode !== undefined ? { errorCode, errorMessage: why } : {}) }, `tunnel refused: ${why}`);
  }

  /** Answer a call we will not take with a CDN (§6.12) from a session ID we never use. */
  private refuseCall(peerSessionId: number, result: L2tpResultCode): void {
    this.log(`refusing call ${peerSessionId}: ${describe(result)}`);
    this.sendControl(peerSessionId, L2tpMessageType.CDN, { resultCode: result, assignedSessionId: this.allocateSessionId() });
  }

  // ---- send ---------------------------------------------------------------------------------

  private sendControl(peerSessionId: number, messageType: number, avps: L2tpAvps, onSent?: () => void): void {
    // Session messages travel hidden when asked to; tunnel messages stay clear so that a
    // secret mismatch is reported as such (result 4) rather than as garbled AVPs.
    const hide = this.o.hideAvps && this.o.secret !== undefined && !isTunnelMessage(messageType) ? { secret: this.o.secret, random: this.rnd(16) } : undefined;
    let buf: Uint8Array;
    try {
      buf = encodeControlMessage({ tunnelId: this.peerTunnelId, sessionId: peerSessionId, ns: 0, nr: 0, messageType, avps, hide });
    } catch (e) {
      this.log(`cannot encode ${L2TP_MESSAGE_TYPE_NAMES[messageType]}: ${(e as Error).message}`);
      return;
    }
    this.channel.send(buf, onSent);
  }

  // ---- timers and teardown ------------------------------------------------------------------

  private armHello(): void {
    if (this.helloMs <= 0 || this.state !== 'established') return;
    this.helloTimer?.cancel();
    const wait = Math.max(0, this.lastRx + this.helloMs - this.clock.now());
    this.helloTimer = this.clock.setTimer(wait, () => {
      this.helloTimer = undefined;
      if (this.state !== 'established') return;
      if (this.clock.now() - this.lastRx >= this.helloMs) {
        // §5.5: a Hello rides the reliable transport; if it is never acknowledged the
        // retry limit clears the tunnel. Silence restarts the count from now.
        this.sendControl(0, L2tpMessageType.HELLO, {});
        this.lastRx = this.clock.now();
      }
      this.armHello();
    });
  }

  private notePeer(from: PeerAddress): void {
    if (from.address === this.peer.address && from.port === this.peer.port) return;
    // The peer may answer from, or move to, another port (§8.1): the tunnel is known by
    // its ID, so follow it.
    this.log(`peer moved from ${this.peer.address}:${this.peer.port} to ${from.address}:${from.port}`);
    this.peer = { address: from.address, port: from.port };
  }

  private acked(): void {
    if (this.state === 'closing' && this.channel.pending === 0 && this.holdTimer && this.reasonIsOurs) this.finishClose();
  }

  private reasonIsOurs = false;

  private transportFailed(unacked: Uint8Array): void {
    // Name what went unanswered (a Hello means a peer that went silent, §5.5). Our own
    // messages carry Message Type first, right after the 12-octet header (§3.1, §4.4.1).
    const t = unacked.length >= 20 ? (unacked[18] << 8) | unacked[19] : -1;
    const what = L2TP_MESSAGE_TYPE_NAMES[t] ?? 'control message';
    const why = `peer not responding (${what} not acknowledged after ${this.channel.retries} retransmissions)`;
    this.log(why);
    this.goDown(why, undefined);
    this.finishClose();
  }

  private goDown(reason: string, result: L2tpResultCode | undefined, byPeer = false): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.reasonIsOurs = !byPeer;
    this.state = 'closing';
    this.reason ??= reason;
    this.helloTimer?.cancel();
    this.helloTimer = undefined;
    this.counters.closedSessionDataDrops.notReady += this.held.length;
    this.held = [];
    this.log(`down: ${this.reason}`);
    for (const s of [...this.sessions.values()]) s.tunnelDown(this.reason);
    this.pendingCalls = [];
    this.emit('down', this.reason, result);
  }

  private finishClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.helloTimer?.cancel();
    this.holdTimer?.cancel();
    this.helloTimer = this.holdTimer = undefined;
    this.channel.close();
    this.emit('closed');
  }

  private allocateSessionId(): number {
    for (let i = 0; i < 64; i++) {
      const b = this.rnd(2);
      const id = (b[0] << 8) | b[1];
      if (id !== 0 && !this.sessions.has(id)) return id;
    }
    for (let id = 1; id <= 0xffff; id++) if (!this.sessions.has(id)) return id;
    return 0;
  }

  private nextCallSerial(): number {
    this.callSerial = (this.callSerial + 1) >>> 0;
    return this.callSerial;
  }
}
