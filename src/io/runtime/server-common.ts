/**
 * What the PPTP and L2TP runtimes do alike around their servers and clients: the PPP settings
 * read from a client entry or the server settings, the session a connecting user gets from
 * the resolver, the interface name it gets, the rows of `/interface *-server` and
 * `/ppp active`, and the per-tunnel metrics. The protocol-specific parts stay in pptp.ts and
 * l2tp.ts.
 */
import type { DynamicItem, ItemStatus, ItemView } from '../../mgmt/runtime.js';
import type { MetricsSink } from '../../mgmt/metrics.js';
import type { Service, SessionResolver } from '../../mgmt/session.js';
import type { LinkStats } from '../../protocol/ppp/link.js';
import type { PppInterface } from '../ppp-interface.js';
import type { ServerSessionSettings } from '../server-session.js';
import { authList, intOrUndefined, liveValues, monitorFields, profileUseEncryption, seconds } from './common.js';

/** Settings that, when changed, need a new connection (a comment does not). */
export function clientSignature(v: Readonly<Record<string, string>>): string {
  const { comment: _c, ...rest } = v;
  void _c;
  return JSON.stringify(rest);
}

/** PPP settings of a client entry (RouterOS defaults: max-mtu/mru 1460, keepalive 60 s). */
export function clientPpp(v: Readonly<Record<string, string>>, profiles: readonly ItemView[]) {
  return {
    user: v.user,
    password: v.password ?? '',
    allow: authList(v.allow, ['pap', 'chap', 'mschap1', 'mschap2']),
    useEncryption: profileUseEncryption(profiles, v.profile ?? 'default-encryption'),
    maxMtu: intOrUndefined(v['max-mtu']) ?? 1460,
    maxMru: intOrUndefined(v['max-mru']) ?? 1460,
    mrru: intOrUndefined(v.mrru),
    keepaliveTimeout: seconds(v['keepalive-timeout'], 60),
  };
}

/** PPP settings of every server call (`... server` settings; keepalive 30 s, default-profile's use-encryption). */
export function serverPpp(s: Readonly<Record<string, string>>, profiles: readonly ItemView[]) {
  return {
    authentication: authList(s.authentication, ['mschap2', 'mschap1']),
    maxMtu: intOrUndefined(s['max-mtu']) ?? 1460,
    maxMru: intOrUndefined(s['max-mru']) ?? 1460,
    mrru: intOrUndefined(s.mrru),
    keepaliveTimeout: seconds(s['keepalive-timeout'], 30),
    useEncryption: profileUseEncryption(profiles, s['default-profile'] ?? 'default-encryption'),
    name: 'culvert',
  };
}

/** The server's `sessionFor`: secret > profile > pool from the daemon's resolver. */
export function resolveServerSession(resolver: SessionResolver, service: Service, user: string, callerId: string): ServerSessionSettings {
  const rs = resolver.resolveSession(user, service, callerId);
  return {
    localAddress: rs.localAddress,
    remoteAddress: rs.remoteAddress,
    dns: rs.dns,
    useEncryption: rs.useEncryption,
    routes: rs.routes.map((r) => ({ dst: r.dst, gateway: r.gateway, metric: r.distance })),
    release: () => rs.release(),
  };
}

/**
 * The interface of a connecting user: the enabled static `/interface *-server` entry with
 * user=USER unless `taken`, else the dynamic `<SERVICE-USER>`; the same user again
 * (only-one=no) gets `<SERVICE-USER-1>`, ... (`live`: names of sessions that have an interface).
 */
export function serverInterfaceFor(
  service: Service, user: string, statics: readonly ItemView[], taken: (name: string | undefined) => boolean, live: ReadonlySet<string | undefined>,
): { name: string; dynamic: boolean } {
  const st = statics.find((i) => i.values.user === user && i.values.disabled !== 'yes');
  if (st && !taken(st.values.name)) return { name: st.values.name ?? `${service}-${user}`, dynamic: false };
  let name = `<${service}-${user}>`;
  for (let i = 1; live.has(name); i++) name = `<${service}-${user}-${i}>`;
  return { name, dynamic: true };
}

/** One server call as the runtime's print/monitor sees it (both servers' session records fit). */
export interface SessionRow {
  readonly id: number;
  readonly callerId: string;
  user?: string;
  iface?: PppInterface;
  name?: string;
  dynamic: boolean;
  status: string;
  reason?: string;
}

/** The key of a server call's dynamic rows (`/interface *-server`, `/ppp active`). */
export function sessionKey(service: Service, id: number): string {
  return `${service}#${id}`;
}

/** The call id of a dynamic row's key, or undefined when it is not one of this service's. */
export function sessionIdOfKey(service: Service, key: string): number | undefined {
  const m = new RegExp(`^${service}#(\\d+)$`).exec(key);
  return m ? Number(m[1]) : undefined;
}

/** Dynamic `/interface *-server` rows (flag D) of the connected calls without a static entry. */
export function serverInterfaceRows(service: Service, sessions: readonly SessionRow[]): DynamicItem[] {
  return sessions.filter((s) => s.dynamic).map((s) => ({
    key: sessionKey(service, s.id),
    // The console shows a dynamic name in <...> itself: give it the bare name.
    values: { name: (s.name ?? '').replace(/^<(.*)>$/, '$1'), user: s.user ?? '', 'client-address': s.callerId, ...liveValues(s.iface) },
    running: true,
  }));
}

/** `/ppp active` rows of the connected calls. */
export function activeRows(service: Service, sessions: readonly SessionRow[]): DynamicItem[] {
  return sessions.map((s) => {
    const live = liveValues(s.iface);
    return {
      key: sessionKey(service, s.id),
      values: { name: s.user ?? '', service, 'caller-id': s.callerId, address: s.iface?.info?.remoteAddress ?? '', uptime: live.uptime, encoding: live.encoding },
    };
  });
}

/** Status of a static `/interface *-server` entry: running while a call uses it. */
export function serverInterfaceStatus(sessions: readonly SessionRow[], item: ItemView): ItemStatus | undefined {
  const s = sessions.find((x) => !x.dynamic && x.name === item.values.name);
  if (!s) return undefined;
  return { running: true, values: { 'client-address': s.callerId, ...liveValues(s.iface) } };
}

/** The call behind a `/interface *-server` row, dynamic (by key) or static (by name). */
export function findServerSession<S extends SessionRow>(service: Service, sessions: readonly S[], item: ItemView | DynamicItem): S | undefined {
  const key = (item as DynamicItem).key;
  return sessions.find((x) => (key !== undefined && sessionKey(service, x.id) === key) || (!x.dynamic && x.name === item.values.name));
}

/** monitor of a `/interface *-server` row, dynamic (by key) or static (by name). */
export function serverInterfaceMonitor(service: Service, sessions: readonly SessionRow[], item: ItemView | DynamicItem): Record<string, string> | undefined {
  const s = findServerSession(service, sessions, item);
  return s ? monitorFields(s.iface, s.status, s.reason) : undefined;
}

export type TunnelLabels = { interface: string; service: string; role: string };

/** culvert_tunnel_* and the TUN/PPP drops of one tunnel. */
export function tunnelMetrics(sink: MetricsSink, labels: TunnelLabels, iface: PppInterface | undefined, up: boolean, link?: LinkStats): void {
  sink.add('culvert_tunnel_up', labels, up ? 1 : 0);
  const c = iface?.counters;
  if (c) {
    sink.add('culvert_tunnel_rx_bytes_total', labels, c.rxBytes);
    sink.add('culvert_tunnel_tx_bytes_total', labels, c.txBytes);
    sink.add('culvert_tunnel_rx_packets_total', labels, c.rxPackets);
    sink.add('culvert_tunnel_tx_packets_total', labels, c.txPackets);
    for (const [reason, n] of Object.entries(c.drops)) sink.add('culvert_drops_total', { ...labels, reason: `tun_${reason}` }, n);
  }
  if (link) for (const [reason, n] of Object.entries(link.drops)) sink.add('culvert_drops_total', { ...labels, reason: `ppp_${reason}` }, n);
}

/** The data counters of a server's ended calls, so its totals survive them. */
export function closedCallMetrics(sink: MetricsSink, labels: TunnelLabels, c: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number }): void {
  sink.add('culvert_tunnel_rx_bytes_total', labels, c.rxBytes);
  sink.add('culvert_tunnel_tx_bytes_total', labels, c.txBytes);
  sink.add('culvert_tunnel_rx_packets_total', labels, c.rxPackets);
  sink.add('culvert_tunnel_tx_packets_total', labels, c.txPackets);
}
