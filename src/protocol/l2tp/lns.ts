/**
 * L2TP server (RouterOS /interface l2tp-server server), sans-I/O: accepts tunnels on the
 * UDP 1701 socket the io adapter owns, answers incoming calls, and runs one PPP server link
 * per call. `pppFor` gives each call its Link settings (verifier, addresses from the pool,
 * profile), so the daemon decides per call.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { Secret } from '../../codec/l2tp/hidden.js';
import { L2tpCdnResult, L2tpStopCcnResult } from '../../codec/l2tp/result-codes.js';
import { L2tpCall, type CallLinkConfig } from './call.js';
import { L2tpEndpoint, type EndpointCounters, type L2tpDropStats } from './endpoint.js';
import type { L2tpSession } from './session.js';
import type { L2tpTunnel, PeerAddress, SendFn, TunnelOptions } from './tunnel.js';

export interface L2tpLnsConfig {
  clock: Clock;
  hostName?: string;
  secret?: Secret;
  hideAvps?: boolean;
  /** Hello after this many seconds of silence (default 60; 0 off). */
  keepaliveTimeout?: number;
  tunnel?: Pick<TunnelOptions, 'receiveWindow' | 'retries' | 'initialRtoMs' | 'maxRtoMs' | 'ackDelayMs' | 'sequencing' | 'dataLengthBit' | 'maxSessions'>;
  /** PPP server settings for a new call (role is set here). */
  pppFor: (ctx: { tunnel: L2tpTunnel; session: L2tpSession; peer: PeerAddress }) => Omit<CallLinkConfig, 'role'>;
  randomBytes?: (n: number) => Uint8Array;
  send: SendFn;
  log?: (line: string) => void;
}

export type LnsEvents = {
  /** A new call; its `status`, `up` and `down` events follow. */
  call: [call: L2tpCall];
};

export class L2tpLns extends EventEmitter<LnsEvents> {
  readonly endpoint: L2tpEndpoint;
  readonly calls = new Set<L2tpCall>();
  private readonly cfg: L2tpLnsConfig;

  constructor(cfg: L2tpLnsConfig) {
    super();
    this.cfg = cfg;
    this.endpoint = new L2tpEndpoint({
      clock: cfg.clock,
      role: 'lns',
      hostName: cfg.hostName ?? 'culvert',
      vendorName: 'culvert',
      secret: cfg.secret,
      hideAvps: cfg.hideAvps,
      acceptTunnels: true,
      tunnel: { ...cfg.tunnel, helloInterval: cfg.keepaliveTimeout ?? 60 },
      randomBytes: cfg.randomBytes,
      send: cfg.send,
      log: cfg.log,
    });
    this.endpoint.on('tunnel', (t) => t.on('session', (s) => this.newCall(t, s)));
  }

  get counters(): EndpointCounters {
    return this.endpoint.counters;
  }

  /** Drop counters per reason (endpoint + tunnels, closed ones included). */
  stats(): L2tpDropStats {
    return this.endpoint.stats();
  }

  /** One UDP datagram. Never throws. */
  receive(buf: Uint8Array, off: number, len: number, from: PeerAddress): void {
    this.endpoint.receive(buf, off, len, from);
  }

  /** Server shutdown: StopCCN result 6 on every tunnel. */
  close(): void {
    for (const t of [...this.endpoint.tunnels.values()]) t.close({ resultCode: L2tpStopCcnResult.ShuttingDown }, 'server shutting down');
  }

  private newCall(t: L2tpTunnel, s: L2tpSession): void {
    let ppp: Omit<CallLinkConfig, 'role'>;
    try {
      ppp = this.cfg.pppFor({ tunnel: t, session: s, peer: { ...t.peer } });
    } catch (e) {
      this.cfg.log?.(`l2tp-server: refusing call: ${(e as Error).message}`);
      s.close({ resultCode: L2tpCdnResult.TemporaryNoFacilities }, 'no PPP settings for this call');
      return;
    }
    const call = new L2tpCall(t, s, this.cfg.clock, { ...ppp, role: 'server' });
    this.calls.add(call);
    call.on('down', () => this.calls.delete(call));
    this.emit('call', call);
  }
}
