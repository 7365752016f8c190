/**
 * One L2TP client connection on real sockets (RouterOS /interface l2tp-client): an L2tpLac
 * (its own tunnel, one call) on the process's shared L2TP socket, carrying IPv4 for a
 * PppInterface. One attempt: start() dials, the connection ends once (onEnd) and is not
 * reused; the runtime makes a new one to redial.
 */
import type { Clock } from '../../protocol/clock.js';
import { L2tpLac } from '../../protocol/l2tp/lac.js';
import type { CallLinkConfig, CallStatus } from '../../protocol/l2tp/call.js';
import type { L2tpDropStats } from '../../protocol/l2tp/endpoint.js';
import type { LinkInfo, LinkStats } from '../../protocol/ppp/link.js';
import type { Secret } from '../../codec/l2tp/hidden.js';
import { RealClock } from '../real-clock.js';
import type { PppInterface } from '../ppp-interface.js';
import { l2tpTunnelTransport, type L2tpTransport } from './transport.js';

export interface L2tpClientOptions {
  transport: L2tpTransport;
  connectTo: string;
  port?: number;
  /** PPP client settings (user, password, allow, use-encryption, max-mtu...). Never logged. */
  ppp: Omit<CallLinkConfig, 'role'>;
  /** RouterOS keepalive-timeout: the tunnel's Hello interval (the PPP echo uses ppp.keepaliveTimeout). */
  keepaliveTimeout: number;
  hostName?: string;
  secret?: Secret;
  iface: PppInterface;
  clock?: Clock;
  log?: (line: string) => void;
  onStatus?: (status: CallStatus, info: LinkInfo | undefined, reason: string | undefined) => void;
  /** Called once when the attempt is over. */
  onEnd?: (reason: string, wasConnected: boolean) => void;
}

/** How long a finished tunnel may keep answering retransmitted StopCCNs (§5.7 hold) before we forget it. */
const HOLD_MS = 35_000;

export class L2tpClientConnection {
  readonly lac: L2tpLac;
  status: CallStatus = 'terminated';
  reason: string | undefined;
  private readonly o: L2tpClientOptions;
  private readonly detach: () => void;
  private wasConnected = false;
  private ended = false;
  private started = false;

  constructor(o: L2tpClientOptions) {
    this.o = o;
    const t = o.transport;
    this.lac = new L2tpLac({
      clock: o.clock ?? new RealClock(),
      server: { address: o.connectTo, port: o.port },
      hostName: o.hostName ?? 'culvert',
      secret: o.secret,
      keepaliveTimeout: o.keepaliveTimeout,
      ppp: o.ppp,
      send: t.send,
      randomBytes: t.randomBytes,
      log: o.log,
    });
    this.detach = t.attach(this.lac.endpoint);
    const iface = o.iface;
    this.lac.onIp = (b, off, len) => t.deliver(iface, b, off, len);
    this.lac.on('status', (s, r) => {
      this.status = s;
      if (r !== undefined) this.reason = r;
      if (s !== 'connected' && s !== 'terminated') iface.setStatus(s);
      o.onStatus?.(s, undefined, r);
    });
    this.lac.on('up', (info) => {
      this.wasConnected = true;
      const call = this.lac.call!;
      iface.attach(l2tpTunnelTransport(t, call));
      o.onStatus?.('connected', info, undefined);
    });
    this.lac.on('down', (reason) => this.end(reason));
  }

  get connected(): boolean {
    return this.status === 'connected';
  }

  get linkStats(): LinkStats | undefined {
    return this.lac.call?.link?.stats;
  }

  drops(): L2tpDropStats {
    return this.lac.stats();
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.lac.start();
  }

  /** Hang up: LCP Terminate, CDN, StopCCN (seed 003 / RFC 2661 §5.6, §5.7). */
  hangup(reason = 'disconnected by administrator'): void {
    if (this.ended) return;
    if (!this.started || this.lac.status === 'terminated') {
      this.lac.close(reason);
      this.end(reason);
      return;
    }
    this.lac.close(reason);
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.status = 'terminated';
    this.reason = reason;
    // Keep the endpoint on the socket while its tunnel finishes the StopCCN exchange.
    const ep = this.lac.endpoint;
    const start = Date.now();
    const poll = setInterval(() => {
      if (ep.tunnels.size === 0 || Date.now() - start > HOLD_MS) {
        clearInterval(poll);
        ep.destroy();
        this.detach();
      }
    }, 250);
    poll.unref?.();
    this.o.onEnd?.(reason, this.wasConnected);
  }
}
