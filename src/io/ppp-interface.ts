/**
 * One PPP session on a real TUN device, for PPTP and L2TP, client and server.
 *
 * A PppInterface owns the TUN (named like RouterOS: `pptp-out1`, `<pptp-USER>`,
 * `<l2tp-USER>`) and what is configured on it while the link is up: MTU, the
 * point-to-point address pair, routes (default route with its distance, host route to the
 * server, the secret's `routes=`), proxy-ARP. The tunnel itself stays outside: a small
 * TunnelTransport (the PPTP or L2TP call facade, which owns the PPP Link) frames and sends
 * IP packets in place, and hands received IPv4 back through `deliverIp`.
 *
 *   TUN rx batch -> (IPv4 only; IPv6 dropped, IPV6CP is not implemented) -> transport.sendIp
 *                   in place (the TUN's headroom holds the PPP/MPPE + tunnel headers)
 *   transport onIp -> deliverIp -> queued into one TUN write per socket batch (beginRx/endRx)
 *
 * Lifecycle: open() creates the TUN (early for dial-on-demand: the first packet read while
 * no transport is attached fires `onDemand`); attach(transport); linkUp(info) configures
 * addresses/routes and brings the device up; linkDown(reason) takes it all away again;
 * close() deletes the device. Nothing here logs a secret.
 */
import { IoError } from '../errors.js';
import type { LinkInfo, Link } from '../protocol/ppp/link.js';
import { META_WORDS, TunDevice } from './native.js';
import { TxBatch } from './tx-batch.js';
import { addAddress, delAddress, setMtu, setTxQueueLen, setUp } from './netdev.js';
import { parseRoutes, RouteSet, type Route } from './routes.js';

/** What PppInterface needs from a tunnel (PPTP call, L2TP call, or an engine session). */
export interface TunnelTransport {
  /** Octets sendIp needs writable in front of the IPv4 packet (PPTP_IP_HEADROOM, L2TP_IP_HEADROOM). */
  readonly headroom: number;
  /** Frame (MPPE in place when on) and send one IPv4 packet at buf[off, off+len). False: dropped. */
  sendIp(buf: Uint8Array, off: number, len: number): boolean;
  /** End of one TUN batch (for transports that batch their sends). */
  flush?(): void;
  /** The session's PPP Link once it exists (for MTU and status). */
  readonly link?: Link | undefined;
  /**
   * Optional: a transport with its own TUN fast path (an Engine Session) takes the TUN.
   * Return true if it did; PppInterface then leaves tun.onBatch alone until detachTun().
   */
  attachTun?(tun: TunDevice): boolean;
  detachTun?(): void;
}

export type PppInterfaceStatus = 'disabled' | 'waiting' | 'dialing' | 'verifying password...' | 'connected' | 'terminating...' | 'terminated';

export interface PppInterfaceCounters {
  rxPackets: number; rxBytes: number; txPackets: number; txBytes: number;
  drops: {
    /** IPv6 read from the TUN (no IPV6CP). */
    ipv6: number;
    /** Not IPv4/IPv6 at all. */
    badPacket: number;
    /** Read from the TUN while no link was up (dial-on-demand trigger, or still negotiating). */
    notConnected: number;
    /** The transport refused the packet (too long for the MTU, cleartext with encryption required...). */
    transport: number;
    /** Received for a TUN that is not open. */
    noTun: number;
  };
}

export interface PppRouteOptions {
  /** add-default-route=yes. */
  addDefaultRoute?: boolean;
  /** default-route-distance (kernel metric), default 1. */
  defaultRouteDistance?: number;
  /** Client: the server's address, for a host route via the current gateway (pptp(8) ROUTING). */
  serverAddress?: string;
  /** pptp(8) --nohostroute; also implied when no default route goes into the tunnel. */
  nohostroute?: boolean;
  /** The secret's RouterOS `routes=` ("dst [gateway [metric]],..."), installed while up. */
  routes?: string;
  /** Routes already parsed (e.g. ResolvedSession.routes); without gateway/dev they go via this interface. */
  routeList?: readonly Route[];
  /** Interfaces whose proxy_arp is switched on while up (profile/interface asks for proxy-arp). */
  proxyArp?: readonly string[];
}

export interface PppInterfaceOptions extends PppRouteOptions {
  /** RouterOS name, shown by print/monitor: `pptp-out1`, `<pptp-alice>`. */
  name: string;
  /** Run ip/sysctl in this namespace (tests). The TUN is made in the caller's namespace. */
  netns?: string;
  /**
   * Dial-on-demand placeholder (seed 000: "route with gateway address from 10.112.112.0/24
   * network will be added while connection is not established"): local/peer addresses
   * put on the TUN while waiting. Default none.
   */
  placeholder?: { local: string; peer: string };
  /** The first packet read from the TUN while no link is up (dial-on-demand). */
  onDemand?: () => void;
  /** Human log lines. */
  log?: (line: string) => void;
  /** Tests: TUN factory (default TunDevice.open). */
  openTun?: (name: string) => TunDevice;
}

/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME = 15;

/**
 * The kernel name for a RouterOS interface name: unchanged if it fits in 15 characters,
 * otherwise `<pptp-` + user cut + `>` (the brackets kept so it still reads as dynamic),
 * or a plain cut. `taken` lets the caller avoid a collision between two long names with
 * the same start: a `~N` suffix replaces the tail.
 */
export function kernelName(display: string, taken: (n: string) => boolean = () => false): string {
  let base = display;
  if (base.length > MAX_IFNAME) {
    base = base.startsWith('<') && base.endsWith('>') ? base.slice(0, MAX_IFNAME - 1) + '>' : base.slice(0, MAX_IFNAME);
  }
  // Linux refuses '/', ':' and whitespace in names; RouterOS names may hold them.
  base = base.replace(/[^A-Za-z0-9_.<>-]/g, '_');
  if (base === '.' || base === '..' || base === '') base = base.replace(/\./g, '_') || '_';
  if (!taken(base)) return base;
  for (let i = 1; i < 1000; i++) {
    const suf = `-${i}`;
    const closer = base.endsWith('>') ? '>' : '';
    const cut = base.slice(0, MAX_IFNAME - suf.length - closer.length);
    const n = (closer && cut.endsWith('>') ? cut.slice(0, -1) : cut) + suf + closer;
    if (!taken(n)) return n;
  }
  throw new IoError('IO_ERR_BAD_ARG', `no free interface name for ${display}`);
}

/** RouterOS duration text: 1w2d3h4m5s (seconds resolution; "0s" for zero). */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  const units: [string, number][] = [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60]];
  for (const [u, n] of units) {
    if (s >= n) { parts.push(`${Math.floor(s / n)}${u}`); s %= n; }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}


export class PppInterface {
  /** RouterOS name. */
  readonly name: string;
  /** Kernel name of the TUN (may differ when the RouterOS name is longer than 15). */
  ifname: string;
  status: PppInterfaceStatus = 'waiting';
  /** Why the link last went down. */
  reason: string | undefined;
  readonly counters: PppInterfaceCounters = {
    rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0,
    drops: { ipv6: 0, badPacket: 0, notConnected: 0, transport: 0, noTun: 0 },
  };
  /** Negotiated values while up. */
  info: LinkInfo | undefined;
  /** Routes this interface installed (for /ip route dynamic rows). */
  installedRoutes: Route[] = [];

  private readonly o: PppInterfaceOptions;
  private tun: TunDevice | undefined;
  private transport: TunnelTransport | undefined;
  private transportOwnsTun = false;
  private up = false;
  private demandFired = false;
  private readonly routeSet: RouteSet;
  private addr: { local: string; peer: string } | undefined;
  private placeholderOn = false;
  // TUN write batching: received packets are views into the socket's rx buffer.
  private tunTx: TxBatch | undefined;
  private inRx = false;
  private rxBuf: Uint8Array | undefined;
  private configuring: Promise<void> = Promise.resolve();

  constructor(o: PppInterfaceOptions) {
    this.o = o;
    this.name = o.name;
    this.ifname = kernelName(o.name);
    this.routeSet = new RouteSet({ netns: o.netns });
  }

  get isOpen(): boolean { return this.tun !== undefined; }
  /** Resolves when the last linkUp/linkDown finished configuring the host. */
  get settled(): Promise<void> { return this.configuring; }
  get isUp(): boolean { return this.up; }
  get device(): TunDevice | undefined { return this.tun; }

  /** Creates the TUN (deleted again by close()). With a placeholder, puts it on and brings the device up. */
  async open(): Promise<void> {
    if (this.tun) return;
    const make = this.o.openTun ?? ((n: string) => TunDevice.open(n));
    this.tun = make(this.ifname);
    this.tunTx = undefined;
    this.ifname = this.tun.name;
    this.tun.onBatch = (n) => this.fromTun(n);
    this.tun.onDown = (errno) => this.log(`TUN ${this.ifname} failed (errno ${errno})`);
    // A userspace forwarder absorbs bursts better with a longer queue (see netdev.setTxQueueLen).
    await setTxQueueLen(this.ifname, 1000, { netns: this.o.netns }).catch(() => {});
    if (this.o.placeholder) await this.putPlaceholder();
  }

  /** The tunnel whose PPP link this interface carries. */
  attach(t: TunnelTransport): void {
    if (!this.tun) throw new IoError('IO_ERR_BAD_ARG', `interface ${this.name} is not open`);
    if (t.headroom > this.tun.headroom) throw new IoError('IO_ERR_BAD_ARG', `transport needs ${t.headroom} octets of headroom, the TUN has ${this.tun.headroom}`);
    this.transport = t;
    this.demandFired = false;
    this.transportOwnsTun = t.attachTun?.(this.tun) ?? false;
    if (!this.transportOwnsTun) this.tun.onBatch = (n) => this.fromTun(n);
  }

  detach(): void {
    if (this.transport && this.transportOwnsTun) this.transport.detachTun?.();
    this.transport = undefined;
    this.transportOwnsTun = false;
    this.demandFired = false;
    if (this.tun) this.tun.onBatch = (n) => this.fromTun(n);
  }

  /** Status text for monitor (dialing / verifying password... / terminating...). */
  setStatus(s: PppInterfaceStatus, reason?: string): void {
    this.status = s;
    if (reason !== undefined) this.reason = reason;
  }

  /** PPP is up: MTU, addresses, device up, routes. Serialised with linkDown. */
  linkUp(info: LinkInfo): Promise<void> {
    this.info = info;
    this.up = true;
    this.reason = undefined;
    this.configuring = this.configuring.then(() => this.configure(info)).catch((e) => {
      this.log(`configuring ${this.ifname} failed: ${(e as Error).message}`);
    }).then(() => {
      // "connected" only once the device is up with its addresses and routes, so a user (or
      // script) that sees it can use the interface at once.
      if (this.up && this.info === info) this.status = 'connected';
    });
    return this.configuring;
  }

  /** PPP went down (or the tunnel did): undo everything linkUp did; the TUN stays (close() deletes it). */
  linkDown(reason: string): Promise<void> {
    const wasUp = this.up;
    this.up = false;
    this.status = 'terminated';
    this.reason = reason;
    this.detach();
    this.configuring = this.configuring.then(() => this.unconfigure(wasUp)).catch((e) => {
      this.log(`cleaning up ${this.ifname} failed: ${(e as Error).message}`);
    });
    return this.configuring;
  }

  /** Deletes the TUN (and with it whatever the kernel attached to it). */
  async close(): Promise<void> {
    if (this.up) await this.linkDown(this.reason ?? 'closed');
    await this.configuring;
    this.flushTun();
    if (this.placeholderOn) await this.removePlaceholder();
    await this.routeSet.undo().catch((e) => this.log(`route cleanup: ${(e as Error).message}`));
    this.tun?.close();
    this.tun = undefined;
    this.tunTx = undefined;
  }

  /** Monitor fields (RouterOS names). */
  monitor(now?: number): Record<string, string> {
    void now;
    const link = this.transport?.link;
    const li = this.up && link ? link.info() : undefined;
    const m: Record<string, string> = { status: this.status === 'terminated' && this.reason ? `terminated - ${this.reason}` : this.status };
    if (li) {
      m.uptime = formatDuration(li.uptimeMs);
      m['idle-time'] = formatDuration(li.idleMs);
      m.encoding = li.encoding;
      m.mtu = String(li.mtu);
      m.mru = String(li.mru);
      m['local-address'] = li.localAddress;
      m['remote-address'] = li.remoteAddress;
    }
    return m;
  }

  /** Uptime in ms while connected, else 0. */
  get uptimeMs(): number {
    const link = this.transport?.link;
    return this.up && link ? link.info().uptimeMs : 0;
  }

  /** Received IPv4 packet from the tunnel, for the TUN. Inside beginRx/endRx it joins one batched write. */
  deliverIp(buf: Uint8Array, off: number, len: number): void {
    const tun = this.tun;
    if (!tun) { this.counters.drops.noTun++; return; }
    this.counters.rxPackets++;
    this.counters.rxBytes += len;
    // Only views of the socket's rx buffer may wait for the batch's end: anything else
    // (a reorder-pool slot) can be reused before then, so it is written now, after what
    // the batch queued before it (a slot drained behind the packet that filled its gap
    // must not overtake that packet).
    if (!this.inRx || buf !== this.rxBuf) { this.tunTx?.flush(); tun.sendOne(buf, off, len); return; }
    (this.tunTx ??= new TxBatch(tun)).add(buf, off, len);
  }

  /**
   * A socket batch whose rx buffer is `buf` starts: deliverIp of views into `buf` queue
   * instead of writing (buf must stay untouched until endRx).
   */
  beginRx(buf: Uint8Array): void { this.inRx = true; this.rxBuf = buf; }

  get inBatch(): boolean { return this.inRx; }

  /** The socket batch ended: one TUN write for what was queued. */
  endRx(): void {
    this.inRx = false;
    this.rxBuf = undefined;
    this.flushTun();
  }

  private flushTun(): void {
    if (this.tun) this.tunTx?.flush();
    else this.tunTx?.clear();
  }

  // ---- TUN -> tunnel ------------------------------------------------------------------------

  private fromTun(n: number): void {
    const tun = this.tun;
    if (!tun) return;
    const meta = tun.rxMeta;
    const buf = tun.rx;
    const t = this.transport;
    const c = this.counters;
    for (let i = 0; i < n; i++) {
      const off = meta[i * META_WORDS];
      const len = meta[i * META_WORDS + 1];
      const v = len > 0 ? buf[off] >> 4 : 0;
      if (v === 6) { c.drops.ipv6++; continue; }
      if (v !== 4 || len < 20) { c.drops.badPacket++; continue; }
      if (!t || !this.up) {
        c.drops.notConnected++;
        if (!t && !this.demandFired && this.o.onDemand) {
          this.demandFired = true;
          this.o.onDemand();
        }
        continue;
      }
      if (t.sendIp(buf, off, len)) { c.txPackets++; c.txBytes += len; } else c.drops.transport++;
    }
    t?.flush?.();
  }

  // ---- configuration ------------------------------------------------------------------------

  private async putPlaceholder(): Promise<void> {
    const p = this.o.placeholder!;
    const ns = this.o.netns;
    await addAddress(this.ifname, p.local, { peer: p.peer, netns: ns });
    this.placeholderOn = true;
    await setUp(this.ifname, true, { netns: ns });
    if (this.o.addDefaultRoute) {
      // The dial itself must not follow the placeholder default route into the TUN.
      if (this.o.serverAddress) {
        await this.routeSet.addServerHostRoute(this.o.serverAddress, { nohostroute: this.o.nohostroute })
          .catch((e) => this.log(`host route to the server: ${(e as Error).message}`));
      }
      const r: Route = { dst: 'default', dev: this.ifname, metric: this.o.defaultRouteDistance ?? 1 };
      await this.routeSet.add(r).catch((e) => this.log(`placeholder default route: ${(e as Error).message}`));
    }
  }

  private async removePlaceholder(): Promise<void> {
    const p = this.o.placeholder!;
    this.placeholderOn = false;
    await this.routeSet.undo().catch(() => {});
    await delAddress(this.ifname, p.local, { peer: p.peer, netns: this.o.netns }).catch(() => {});
  }

  private async configure(info: LinkInfo): Promise<void> {
    if (!this.tun) return;
    const ns = this.o.netns;
    if (this.placeholderOn) await this.removePlaceholder();
    await setMtu(this.ifname, Math.max(68, info.mtu), { netns: ns });
    if (info.localAddress !== '0.0.0.0') {
      const a = { local: info.localAddress, peer: info.remoteAddress };
      await addAddress(this.ifname, a.local, { peer: a.peer !== '0.0.0.0' ? a.peer : undefined, netns: ns });
      this.addr = a;
    }
    await setUp(this.ifname, true, { netns: ns });
    if (!this.up) return; // went down while we were configuring: unconfigure follows
    const routes: Route[] = [];
    if (this.o.addDefaultRoute) {
      // pptp(8) ROUTING: pin the server first, or the tunnel's own packets would loop into it.
      if (this.o.serverAddress) {
        const h = await this.routeSet.addServerHostRoute(this.o.serverAddress, { nohostroute: this.o.nohostroute });
        if (h) routes.push(h);
      }
      const d: Route = { dst: 'default', dev: this.ifname, metric: this.o.defaultRouteDistance ?? 1 };
      if (await this.routeSet.add(d)) routes.push(d);
    }
    if (this.o.routes) {
      for (const r of parseRoutes(this.o.routes, { dev: this.ifname })) {
        try {
          if (await this.routeSet.add(r)) routes.push(r);
        } catch (e) {
          this.log(`route ${r.dst}: ${(e as Error).message}`);
        }
      }
    }
    for (const r0 of this.o.routeList ?? []) {
      const r: Route = { ...r0, dev: r0.dev ?? (r0.gateway === undefined ? this.ifname : undefined) };
      try {
        if (await this.routeSet.add(r)) routes.push(r);
      } catch (e) {
        this.log(`route ${r.dst}: ${(e as Error).message}`);
      }
    }
    for (const ifn of this.o.proxyArp ?? []) await this.routeSet.setProxyArp(ifn, true);
    this.installedRoutes = routes;
    this.log(`${this.name} up: ${info.localAddress} -> ${info.remoteAddress} mtu ${info.mtu} ${info.encoding}`);
  }

  private async unconfigure(wasUp: boolean): Promise<void> {
    this.flushTun();
    await this.routeSet.undo().catch((e) => this.log(`route cleanup: ${(e as Error).message}`));
    this.installedRoutes = [];
    if (this.addr && this.tun) {
      const a = this.addr;
      this.addr = undefined;
      await delAddress(this.ifname, a.local, { peer: a.peer !== '0.0.0.0' ? a.peer : undefined, netns: this.o.netns }).catch(() => {});
    }
    if (this.tun && !this.o.placeholder) await setUp(this.ifname, false, { netns: this.o.netns }).catch(() => {});
    if (this.tun && this.o.placeholder && wasUp) await this.putPlaceholder().catch((e) => this.log(`placeholder: ${(e as Error).message}`));
    if (wasUp) this.log(`${this.name} down: ${this.reason ?? ''}`);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }
}
