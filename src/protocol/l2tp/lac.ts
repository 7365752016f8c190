/**
 * L2TP client (RouterOS /interface l2tp-client), sans-I/O: one tunnel to `connect-to`, one
 * call in it, one PPP client link. The io adapter pumps UDP datagrams through `receive`
 * and `send`, and IPv4 packets through `sendIp` / `onIp`; `status` events feed `monitor`.
 * Hanging up clears the call (CDN) and then the tunnel (StopCCN), as the last call goes.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { Secret } from '../../codec/l2tp/hidden.js';
import { L2tpStopCcnResult } from '../../codec/l2tp/result-codes.js';
import type { LinkInfo } from '../ppp/link.js';
import { L2tpCall, type CallInfo, type CallLinkConfig, type CallStatus } from './call.js';
import { L2tpEndpoint, type L2tpDropStats } from './endpoint.js';
import type { L2tpTunnel, PeerAddress, SendFn, TunnelOptions } from './tunnel.js';

export interface L2tpLacConfig {
  clock: Clock;
  /** RouterOS connect-to; port 1701 unless given. */
  server: { address: string; port?: number };
  hostName?: string;
  /** Tunnel secret (RouterOS ipsec-less "secret"); never logged. */
  secret?: Secret;
  hideAvps?: boolean;
  /** RouterOS keepalive-timeout for the tunnel's Hello, seconds (default 60). */
  keepaliveTimeout?: number;
  tunnel?: Pick<TunnelOptions, 'receiveWindow' | 'retries' | 'initialRtoMs' | 'maxRtoMs' | 'ackDelayMs' | 'sequencingRequired' | 'dataLengthBit'>;
  /** The PPP client: user, password, allow, profile settings... (role is set here). */
  ppp: Omit<CallLinkConfig, 'role'>;
  randomBytes?: (n: number) => Uint8Array;
  send: SendFn;
  log?: (line: string) => void;
}

export type LacEvents = {
  status: [status: CallStatus, reason: string | undefined];
  up: [info: LinkInfo];
  down: [reason: string];
};

export class L2tpLac extends EventEmitter<LacEvents> {
  readonly endpoint: L2tpEndpoint;
  tunnel: L2tpTunnel | undefined;
  call: L2tpCall | undefined;
  status: CallStatus = 'terminated';
  reason: string | undefined;
  /** Received IPv4 packets (valid only during the call). */
  onIp: (buf: Uint8Array, off: number, len: number) => void = () => {};

  private readonly cfg: L2tpLacConfig;

  constructor(cfg: L2tpLacConfig) {
    super();
    this.cfg = cfg;
    this.endpoint = new L2tpEndpoint({
      clock: cfg.clock,
      role: 'lac',
      hostName: cfg.hostName ?? 'culvert',
      vendorName: 'culvert',
      secret: cfg.secret,
      hideAvps: cfg.hideAvps,
      tunnel: { ...cfg.tunnel, helloInterval: cfg.keepaliveTimeout ?? 60 },
      randomBytes: cfg.randomBytes,
      send: cfg.send,
      log: cfg.log,
    });
  }

  /** Dial: SCCRQ, then ICRQ once the tunnel is up, then PPP. */
  start(): void {
    if (this.call && this.call.status !== 'terminated') return;
    this.reason = undefined;
    const tunnel = this.endpoint.connect(this.cfg.server);
    const session = tunnel.openSession();
    const call = new L2tpCall(tunnel, session, this.cfg.clock, { ...this.cfg.ppp, role: 'client' });
    this.tunnel = tunnel;
    this.call = call;
    call.onIp = (b, o, l) => this.onIp(b, o, l);
    call.on('status', (s, r) => this.setStatus(s, r));
    call.on('up', (info) => this.emit('up', info));
    call.on('down', (reason) => {
      // The last (only) call is gone: take the tunnel down with it (StopCCN).
      if (tunnel.isUp) tunnel.close({ resultCode: L2tpStopCcnResult.GeneralRequest });
      this.reason = reason;
      this.emit('down', reason);
    });
    tunnel.on('down', (reason) => {
      if (call.status !== 'terminated') session.tunnelDown(reason);
    });
    this.setStatus('dialing', undefined);
  }

  /** Drop counters per reason (endpoint + tunnels, closed ones included). */
  stats(): L2tpDropStats {
    return this.endpoint.stats();
  }

  /** One UDP datagram from the server. Never throws. */
  receive(buf: Uint8Array, off: number, len: number, from: PeerAddress): void {
    this.endpoint.receive(buf, off, len, from);
  }

  /** One IPv4 packet with L2TP_IP_HEADROOM free octets before `off`. */
  sendIp(buf: Uint8Array, off: number, len: number): boolean {
    return this.call?.sendIp(buf, off, len) ?? false;
  }

  /** Hang up: LCP terminate, CDN, then StopCCN. */
  close(reason = 'closed by administrator'): void {
    const call = this.call;
    if (!call || call.status === 'terminated') {
      if (this.tunnel && this.tunnel.state !== 'closed' && this.tunnel.state !== 'closing') this.tunnel.close();
      return;
    }
    call.hangup(reason);
  }

  info(): CallInfo | { status: CallStatus; reason?: string } {
    return this.call ? this.call.info() : { status: this.status, reason: this.reason };
  }

  private setStatus(s: CallStatus, reason: string | undefined): void {
    this.status = s;
    this.cfg.log?.(`l2tp-client: ${s}${reason ? ` (${reason})` : ''}`);
    this.emit('status', s, reason);
  }
}
