/**
 * The ONE declarative schema of every console menu. The parser, validation, `print`,
 * `export`, tab completion and the REST API are all driven from these tables; there is
 * no per-menu printer or handler. Names, types and defaults follow the seeds (RouterOS
 * manuals in shared/seeds); where the seeds disagree with themselves the property
 * tables win over the example printouts.
 */
import * as T from './types.js';
import type { ValueType } from './types.js';

export interface Prop {
  readonly name: string;
  readonly type: ValueType;
  /** Canonical default; undefined means "unset" (omitted from print). */
  readonly default?: string;
  /** Never written to logs (passwords, pre-shared keys). */
  readonly secret?: boolean;
  /** Only printed by `print detail` when it differs from the default (newer RouterOS properties). */
  readonly hideIfDefault?: boolean;
  /** Reported by the runtime (mtu of a live tunnel, uptime...); not settable. */
  readonly readOnly?: boolean;
  /** Must name an existing item of that menu (or be an IPv4 address for 'pool-or-ip'). */
  readonly ref?: '/ppp profile' | '/ip pool' | 'pool-or-ip';
  /** Must be set on add. */
  readonly required?: boolean;
  /** Not shown as key=value: disabled is flag X, comment is the ";;;" line. */
  readonly notPrinted?: boolean;
}

export type FlagName = 'disabled' | 'running' | 'dynamic' | 'default' | 'active' | 'invalid' | 'static' | 'connect' | 'radius';

export interface Flag {
  readonly letter: string;
  readonly meaning: string;
  readonly is: FlagName;
}

export interface Column {
  readonly title: string;
  readonly prop: string;
  readonly width: number;
}

export interface Menu {
  /** Canonical path, e.g. "/interface pptp-client". */
  readonly path: string;
  readonly kind: 'list' | 'single';
  readonly props: readonly Prop[];
  readonly flags: readonly Flag[];
  /** How `print` (without detail) looks for a list menu. */
  readonly printStyle: 'detail' | 'table';
  readonly columns?: readonly Column[];
  /** Property that names an item (items can be addressed by it). */
  readonly keyProp?: string;
  /** Auto-generated name prefix when `add` gives none: pptp-out1, pptp-in1. */
  readonly autoName?: string;
  /** Items that always exist and cannot be removed (the `default` profiles). */
  readonly builtins?: readonly Record<string, string>[];
  /** All items come from the runtime (/ppp active). */
  readonly dynamicOnly?: boolean;
  /** Items are the host's Linux interfaces; stored entries only override settings. */
  readonly linux?: boolean;
  /** Summary of every interface culvert knows (/interface). */
  readonly summary?: boolean;
  /** Supports `monitor`. */
  readonly monitor?: readonly string[];
  /** Key=value props that must be unique among items. */
  readonly unique?: readonly string[];
  /** Applied to the host (ip address / ip route). */
  readonly applied?: boolean;
  /** Commands this menu accepts beyond print. */
  readonly commands: readonly string[];
}

const X: Flag = { letter: 'X', meaning: 'disabled', is: 'disabled' };
const R: Flag = { letter: 'R', meaning: 'running', is: 'running' };
const D: Flag = { letter: 'D', meaning: 'dynamic', is: 'dynamic' };

const LIST_CMDS = ['add', 'set', 'remove', 'enable', 'disable', 'comment', 'unset', 'export', 'find'] as const;

const disabled = (def: string): Prop => ({ name: 'disabled', type: T.bool, default: def, notPrinted: true });
const comment: Prop = { name: 'comment', type: T.text(255), notPrinted: true };

/** 64..65535: the seeds give no range for max-mtu/max-mru; 64 is the smallest useful IP MTU. */
const mtuType = T.int(64, 65535);
/** RFC 1990 MRRU; the seeds give 512..65535. */
const mrruType = T.intOrDisabled(512, 65535);
const CLIENT_AUTH = ['pap', 'chap', 'mschap1', 'mschap2'] as const;
/** Servers print strongest first, as the seeds' server printouts do (mschap2,mschap1). */
const SERVER_AUTH = ['mschap2', 'mschap1', 'chap', 'pap'] as const;

/**
 * A time with millisecond resolution (pptp(8) takes fractions of a second): `0.3`, `0.3s`,
 * `300ms`, `1s500ms`, `2m`; printed the RouterOS way (`300ms`, `1s500ms`, `1m`).
 */
function msTime(minMs: number, maxMs: number): ValueType {
  const fmt = (ms: number): string => {
    const units: [string, number][] = [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
    let out = '';
    for (const [u, n] of units) if (ms >= n) { out += `${Math.floor(ms / n)}${u}`; ms %= n; }
    return out || '0s';
  };
  const accepts = `a time ${fmt(minMs)}..${fmt(maxMs)} like 300ms, 0.3s or 2s`;
  return {
    accepts,
    parse(v, p) {
      const t = v.trim().toLowerCase();
      let ms: number | undefined;
      const frac = /^([0-9]{1,7})(?:\.([0-9]{1,3}))?s?$/.exec(t);
      if (frac) ms = Number(frac[1]) * 1000 + Number((frac[2] ?? '').padEnd(3, '0'));
      else {
        const m = /^(?:([0-9]{1,5})w)?(?:([0-9]{1,5})d)?(?:([0-9]{1,5})h)?(?:([0-9]{1,5})m(?!s))?(?:([0-9]{1,7})s)?(?:([0-9]{1,7})ms)?$/.exec(t);
        if (m && t !== '') {
          const [w, d, h, mi, s, x] = m.slice(1).map((n) => (n === undefined ? 0 : Number(n)));
          ms = ((((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s) * 1000 + x;
        }
      }
      if (ms === undefined || ms < minMs || ms > maxMs) throw T.invalid(p, accepts, v);
      return fmt(ms);
    },
  };
}

/** Octets that fit a fixed-size PPTP string field (RFC 2637 §2.1: ASCII, NUL-padded). */
function pptpField(octets: number): ValueType {
  const accepts = `text of at most ${octets} octets`;
  return {
    accepts,
    quoted: true,
    parse(v, p) {
      if (Buffer.byteLength(v, 'utf8') > octets || /[\x00-\x1f\x7f]/.test(v)) throw T.invalid(p, accepts, v);
      return v;
    },
  };
}

/** Reorder time-out and control-connection echo waits, shared by the PPTP client and server. */
const PPTP_TUNING: Prop[] = [
  // pptp(8) --timeout: how long an ahead-of-sequence GRE packet waits for the gap (0.01..10 s; RFC 2637 §4.3).
  { name: 'reorder-timeout', type: msTime(10, 10_000), default: '300ms', hideIfDefault: true },
  // pptp(8) --nobuffer when no: ahead-of-sequence packets go to PPP at once, the gap is lost.
  { name: 'reorder-buffer', type: T.bool, default: 'yes', hideIfDefault: true },
  // pptp(8) --idle-wait: Echo-Request after this long without a control message (RFC 2637 §3.1.4: 60 s).
  { name: 'echo-idle-wait', type: msTime(1000, 86_400_000), default: '1m', hideIfDefault: true },
  // pptp(8) --max-echo-wait: close the control connection when no Echo-Reply came this long (§3.1.4: 60 s).
  { name: 'echo-max-wait', type: msTime(1000, 86_400_000), default: '1m', hideIfDefault: true },
];

/** culvert extensions of /interface pptp-client: the pptp(8) options RouterOS has no property for. */
const PPTP_CLIENT_OPTIONS: Prop[] = [
  ...PPTP_TUNING,
  // pptp(8) --nohostroute when no: no host route to the server via the old gateway (ROUTING).
  { name: 'add-host-route', type: T.bool, default: 'yes', hideIfDefault: true },
  // pptp(8) --rtmark: SO_MARK on the TCP control connection (set before its SYN) and on the
  // GRE packets, for policy routing (ip rule fwmark).
  { name: 'routing-mark', type: T.int(1, 4294967295), hideIfDefault: true },
  // pptp(8) --localbind: source address of the TCP control connection and of GRE.
  { name: 'src-address', type: T.ipv4, hideIfDefault: true },
  // pptp(8) --phone: the Phone Number field of Outgoing-Call-Request (RFC 2637 §2.7, 64 octets).
  { name: 'phone-number', type: pptpField(64), default: '', hideIfDefault: true },
  // pptp(8) --test-type: send GRE to the server out of order on purpose, to test its reorder
  // buffer: 0 off, 1 one swap, 2 twelve packets last-first then ascending, 3 twelve reversed.
  { name: 'reorder-test-type', type: T.int(0, 3), default: '0', hideIfDefault: true },
  // pptp(8) --test-rate: GRE packets sent in order before each test.
  { name: 'reorder-test-rate', type: T.int(1, 1_000_000), default: '100', hideIfDefault: true },
];

/**
 * pptp(8) STATISTICS of a call's GRE session, as `monitor` shows them (names follow the man
 * page). gre-rx-errors, and the parts of gre-tx-failed / gre-tx-short that happen past the
 * call's own send (the kernel refused a datagram; the socket's send queue was full), are
 * counted by the GRE socket, which all calls on one local address and routing-mark share:
 * each such call shows what its socket counted while it was up (per socket, as in pptp(8),
 * where one process is one call). See src/io/pptp/gre-socket.ts GreIoCounters.
 */
export const PPTP_GRE_MONITOR = [
  'gre-rx-accepted', 'gre-rx-lost', 'gre-rx-under-win', 'gre-rx-over-win', 'gre-rx-buffered', 'gre-rx-errors',
  'gre-rx-truncated', 'gre-rx-invalid', 'gre-rx-acks', 'gre-tx-sent', 'gre-tx-failed', 'gre-tx-short', 'gre-tx-acks',
  'gre-tx-oversize', 'gre-rtt',
] as const;

function clientProps(proto: 'pptp' | 'l2tp'): Prop[] {
  return [
    { name: 'name', type: T.quotedName },
    { name: 'max-mtu', type: mtuType, default: '1460' },
    { name: 'max-mru', type: mtuType, default: '1460' },
    { name: 'mrru', type: mrruType, default: 'disabled' },
    { name: 'connect-to', type: T.ipv4, required: true },
    { name: 'user', type: T.quotedName, required: true },
    { name: 'password', type: T.secretText(255), default: '', secret: true },
    { name: 'profile', type: T.name, default: 'default-encryption', ref: '/ppp profile' },
    { name: 'add-default-route', type: T.bool, default: 'no' },
    { name: 'dial-on-demand', type: T.bool, default: 'no' },
    { name: 'allow', type: T.setOf(CLIENT_AUTH), default: 'pap,chap,mschap1,mschap2' },
    { name: 'keepalive-timeout', type: T.seconds(1, 4294967295), default: '60', hideIfDefault: true },
    // PPTP's table gives default 1; L2TP's gives none (the route then uses distance 1).
    { name: 'default-route-distance', type: T.int(0, 255), default: proto === 'pptp' ? '1' : undefined, hideIfDefault: true },
    // culvert extension: L2TP tunnel authentication (RFC 2661 §5.1.1, xl2tpd's l2tp-secrets).
    ...(proto === 'l2tp' ? [{ name: 'l2tp-secret', type: T.secretText(255), default: '', secret: true, hideIfDefault: true }] : []),
    ...(proto === 'pptp' ? PPTP_CLIENT_OPTIONS : []),
    disabled('yes'),
    comment,
  ];
}

const TUNNEL_MONITOR = ['status', 'uptime', 'idle-time', 'encoding', 'mtu', 'mru', 'local-address', 'remote-address'] as const;

function clientMenu(proto: 'pptp' | 'l2tp'): Menu {
  return {
    path: `/interface ${proto}-client`,
    kind: 'list',
    props: clientProps(proto),
    flags: [X, R],
    printStyle: 'detail',
    keyProp: 'name',
    autoName: `${proto}-out`,
    unique: ['name'],
    monitor: [...TUNNEL_MONITOR, ...(proto === 'pptp' ? PPTP_GRE_MONITOR : [])],
    commands: [...LIST_CMDS, 'monitor'],
  };
}

function serverSettings(proto: 'pptp' | 'l2tp'): Menu {
  const props: Prop[] = [
    { name: 'enabled', type: T.bool, default: 'no' },
    { name: 'max-mtu', type: mtuType, default: '1460' },
    { name: 'max-mru', type: mtuType, default: '1460' },
    { name: 'mrru', type: mrruType, default: 'disabled' },
    { name: 'authentication', type: T.setOf(SERVER_AUTH), default: 'mschap2,mschap1' },
    { name: 'keepalive-timeout', type: T.seconds(1, 4294967295), default: '30' },
    { name: 'default-profile', type: T.name, default: 'default-encryption', ref: '/ppp profile' },
  ];
  if (proto === 'l2tp') {
    // Stored for the IPsec layer; culvert has no kernel ESP (see DATAPLANE.md).
    props.push({ name: 'use-ipsec', type: T.oneOf(['no', 'yes', 'required']), default: 'no', hideIfDefault: true });
    props.push({ name: 'ipsec-secret', type: T.secretText(255), default: '', secret: true, hideIfDefault: true });
    // culvert extension: L2TP tunnel authentication (RFC 2661 §5.1.1); applied when the server starts.
    props.push({ name: 'l2tp-secret', type: T.secretText(255), default: '', secret: true, hideIfDefault: true });
  }
  // culvert extensions: the pptp(8) tuning options, applied to calls that start after a change.
  if (proto === 'pptp') props.push(...PPTP_TUNING);
  return { path: `/interface ${proto}-server server`, kind: 'single', props, flags: [], printStyle: 'detail', commands: ['set', 'export'] };
}

function serverIfMenu(proto: 'pptp' | 'l2tp'): Menu {
  return {
    path: `/interface ${proto}-server`,
    kind: 'list',
    props: [
      { name: 'name', type: T.name },
      { name: 'user', type: T.name, required: true },
      { name: 'mtu', type: T.int(0, 65535), readOnly: true },
      { name: 'client-address', type: T.ipv4, readOnly: true },
      { name: 'uptime', type: T.duration(), readOnly: true },
      { name: 'encoding', type: T.text(), readOnly: true },
      disabled('no'),
      comment,
    ],
    flags: [X, D, R],
    printStyle: 'table',
    columns: [
      { title: 'NAME', prop: 'name', width: 20 },
      { title: 'USER', prop: 'user', width: 12 },
      { title: 'MTU', prop: 'mtu', width: 5 },
      { title: 'CLIENT-ADDRESS', prop: 'client-address', width: 15 },
      { title: 'UPTIME', prop: 'uptime', width: 8 },
      { title: 'ENCODING', prop: 'encoding', width: 0 },
    ],
    keyProp: 'name',
    autoName: `${proto}-in`,
    unique: ['name'],
    monitor: [...TUNNEL_MONITOR, ...(proto === 'pptp' ? PPTP_GRE_MONITOR : [])],
    commands: [...LIST_CMDS, 'monitor'],
  };
}

const addrOrPool: ValueType = {
  accepts: 'an IPv4 address or the name of an /ip pool',
  parse(v, p) {
    if (v.length < 1 || v.length > 64 || /[\x00-\x1f\x7f\s]/.test(v)) throw T.invalid(p, this.accepts, v);
    return v;
  },
};

export const MENUS: readonly Menu[] = [
  {
    path: '/interface ethernet',
    kind: 'list',
    props: [
      { name: 'name', type: T.linuxIfName },
      { name: 'mtu', type: T.int(0, 65535), readOnly: true },
      { name: 'mac-address', type: T.text(), readOnly: true },
      { name: 'arp', type: T.oneOf(['enabled', 'disabled', 'proxy-arp', 'reply-only']), default: 'enabled' },
      comment,
    ],
    flags: [X, R],
    printStyle: 'table',
    columns: [
      { title: 'NAME', prop: 'name', width: 20 },
      { title: 'MTU', prop: 'mtu', width: 5 },
      { title: 'MAC-ADDRESS', prop: 'mac-address', width: 17 },
      { title: 'ARP', prop: 'arp', width: 0 },
    ],
    keyProp: 'name',
    linux: true,
    commands: ['set', 'comment', 'unset', 'export', 'find'],
  },
  {
    path: '/ip pool',
    kind: 'list',
    props: [
      { name: 'name', type: T.name, required: true },
      { name: 'ranges', type: T.ranges, required: true },
      { name: 'next-pool', type: T.name, ref: '/ip pool' },
      comment,
    ],
    flags: [],
    printStyle: 'table',
    columns: [
      { title: 'NAME', prop: 'name', width: 20 },
      { title: 'RANGES', prop: 'ranges', width: 0 },
    ],
    keyProp: 'name',
    unique: ['name'],
    commands: ['add', 'set', 'remove', 'comment', 'unset', 'export', 'find'],
  },
  {
    // Addresses the pools have handed out (reported by the session resolver).
    path: '/ip pool used',
    kind: 'list',
    props: [
      { name: 'pool', type: T.name, readOnly: true },
      { name: 'address', type: T.ipv4, readOnly: true },
      { name: 'owner', type: T.name, readOnly: true },
    ],
    flags: [],
    printStyle: 'table',
    columns: [
      { title: 'POOL', prop: 'pool', width: 20 },
      { title: 'ADDRESS', prop: 'address', width: 15 },
      { title: 'OWNER', prop: 'owner', width: 0 },
    ],
    dynamicOnly: true,
    commands: [],
  },
  {
    path: '/ppp profile',
    kind: 'list',
    props: [
      { name: 'name', type: T.quotedName, required: true },
      { name: 'local-address', type: addrOrPool, ref: 'pool-or-ip' },
      { name: 'remote-address', type: addrOrPool, ref: 'pool-or-ip' },
      { name: 'dns-server', type: T.ipList() },
      { name: 'use-encryption', type: T.oneOf(['default', 'no', 'yes', 'required']), default: 'default' },
      { name: 'only-one', type: T.oneOf(['default', 'no', 'yes']), default: 'default' },
      { name: 'change-tcp-mss', type: T.oneOf(['default', 'no', 'yes']), default: 'default' },
      { name: 'session-timeout', type: T.duration() },
      { name: 'idle-timeout', type: T.duration() },
      { name: 'rate-limit', type: T.rateLimit },
      comment,
    ],
    flags: [{ letter: '*', meaning: 'default', is: 'default' }],
    printStyle: 'detail',
    keyProp: 'name',
    unique: ['name'],
    builtins: [
      { name: 'default', 'use-encryption': 'no', 'only-one': 'no', 'change-tcp-mss': 'yes' },
      { name: 'default-encryption', 'use-encryption': 'yes', 'only-one': 'default', 'change-tcp-mss': 'default' },
    ],
    commands: ['add', 'set', 'remove', 'comment', 'unset', 'export', 'find'],
  },
  {
    path: '/ppp aaa',
    kind: 'single',
    props: [
      { name: 'use-radius', type: T.bool, default: 'no' },
      { name: 'accounting', type: T.bool, default: 'yes' },
      { name: 'interim-update', type: T.duration(), default: '0s' },
    ],
    flags: [],
    printStyle: 'detail',
    commands: ['set', 'export'],
  },
  {
    path: '/ppp secret',
    kind: 'list',
    props: [
      { name: 'name', type: T.quotedName, required: true },
      { name: 'service', type: T.oneOf(['any', 'async', 'isdn', 'l2tp', 'pppoe', 'pptp', 'ovpn', 'sstp']), default: 'any' },
      { name: 'caller-id', type: T.text(255), default: '' },
      { name: 'password', type: T.secretText(255), default: '', secret: true },
      { name: 'profile', type: T.name, default: 'default', ref: '/ppp profile' },
      { name: 'local-address', type: addrOrPool, ref: 'pool-or-ip' },
      { name: 'remote-address', type: addrOrPool, ref: 'pool-or-ip' },
      { name: 'routes', type: T.routesText, default: '' },
      disabled('no'),
      comment,
    ],
    flags: [X],
    // Without `detail` RouterOS prints secrets as a table.
    printStyle: 'table',
    columns: [
      { title: 'NAME', prop: 'name', width: 12 },
      { title: 'SERVICE', prop: 'service', width: 7 },
      { title: 'CALLER-ID', prop: 'caller-id', width: 15 },
      { title: 'PASSWORD', prop: 'password', width: 12 },
      { title: 'PROFILE', prop: 'profile', width: 18 },
      { title: 'REMOTE-ADDRESS', prop: 'remote-address', width: 0 },
    ],
    keyProp: 'name',
    unique: ['name'],
    commands: [...LIST_CMDS],
  },
  serverSettings('pptp'),
  serverIfMenu('pptp'),
  serverSettings('l2tp'),
  serverIfMenu('l2tp'),
  clientMenu('pptp'),
  clientMenu('l2tp'),
  {
    path: '/ip address',
    kind: 'list',
    props: [
      { name: 'address', type: T.ipPrefix, required: true },
      { name: 'network', type: T.ipv4, readOnly: true },
      { name: 'interface', type: T.linuxIfName, required: true },
      disabled('no'),
      comment,
    ],
    flags: [X, { letter: 'I', meaning: 'invalid', is: 'invalid' }, D],
    printStyle: 'table',
    columns: [
      { title: 'ADDRESS', prop: 'address', width: 18 },
      { title: 'NETWORK', prop: 'network', width: 15 },
      { title: 'INTERFACE', prop: 'interface', width: 0 },
    ],
    applied: true,
    commands: [...LIST_CMDS],
  },
  {
    path: '/ip route',
    kind: 'list',
    props: [
      { name: 'dst-address', type: T.ipNetwork, default: '0.0.0.0/0' },
      { name: 'gateway', type: T.gateway, required: true },
      { name: 'distance', type: T.int(0, 255), default: '1' },
      disabled('no'),
      comment,
    ],
    flags: [X, { letter: 'A', meaning: 'active', is: 'active' }, D, { letter: 'C', meaning: 'connect', is: 'connect' }, { letter: 'S', meaning: 'static', is: 'static' }],
    printStyle: 'table',
    columns: [
      { title: 'DST-ADDRESS', prop: 'dst-address', width: 18 },
      { title: 'GATEWAY', prop: 'gateway', width: 18 },
      { title: 'DISTANCE', prop: 'distance', width: 0 },
    ],
    applied: true,
    commands: [...LIST_CMDS],
  },
  {
    // Stored (seed 003 adds input rules for L2TP/IPsec); culvert does not program netfilter.
    path: '/ip firewall filter',
    kind: 'list',
    props: [
      { name: 'chain', type: T.name, required: true },
      { name: 'action', type: T.oneOf(['accept', 'drop', 'reject', 'log', 'passthrough', 'return', 'jump']), default: 'accept' },
      { name: 'protocol', type: T.oneOf(['tcp', 'udp', 'icmp', 'gre', 'ipsec-esp', 'ipsec-ah', 'l2tp']) },
      { name: 'src-address', type: T.ipNetwork },
      { name: 'dst-address', type: T.ipNetwork },
      { name: 'port', type: T.portList },
      { name: 'src-port', type: T.portList },
      { name: 'dst-port', type: T.portList },
      { name: 'in-interface', type: T.linuxIfName },
      disabled('no'),
      comment,
    ],
    flags: [X],
    printStyle: 'detail',
    commands: [...LIST_CMDS],
  },
  {
    path: '/ppp active',
    kind: 'list',
    props: [
      { name: 'name', type: T.quotedName, readOnly: true },
      { name: 'service', type: T.name, readOnly: true },
      { name: 'caller-id', type: T.text(), readOnly: true },
      { name: 'address', type: T.ipv4, readOnly: true },
      { name: 'uptime', type: T.duration(), readOnly: true },
      { name: 'encoding', type: T.text(), readOnly: true },
    ],
    flags: [{ letter: 'R', meaning: 'radius', is: 'radius' }],
    printStyle: 'table',
    columns: [
      { title: 'NAME', prop: 'name', width: 12 },
      { title: 'SERVICE', prop: 'service', width: 7 },
      { title: 'CALLER-ID', prop: 'caller-id', width: 15 },
      { title: 'ADDRESS', prop: 'address', width: 15 },
      { title: 'UPTIME', prop: 'uptime', width: 8 },
      { title: 'ENCODING', prop: 'encoding', width: 0 },
    ],
    dynamicOnly: true,
    commands: ['remove'],
  },
  {
    // Shown while /interface l2tp-server server use-ipsec is not `no`, as RouterOS's dynamic peer.
    // culvert stores the setting; it has no kernel ESP (shared/DATAPLANE.md), so no IKE runs.
    path: '/ip ipsec peer',
    kind: 'list',
    props: [
      { name: 'address', type: T.ipNetwork, readOnly: true },
      { name: 'local-address', type: T.ipv4, readOnly: true },
      { name: 'passive', type: T.bool, readOnly: true },
      { name: 'port', type: T.int(0, 65535), readOnly: true },
      { name: 'auth-method', type: T.name, readOnly: true },
      { name: 'secret', type: T.secretText(255), readOnly: true, secret: true },
      { name: 'generate-policy', type: T.name, readOnly: true },
      { name: 'exchange-mode', type: T.name, readOnly: true },
      { name: 'send-initial-contact', type: T.bool, readOnly: true },
      { name: 'nat-traversal', type: T.bool, readOnly: true },
      { name: 'hash-algorithm', type: T.name, readOnly: true },
      { name: 'enc-algorithm', type: T.name, readOnly: true },
      { name: 'dh-group', type: T.name, readOnly: true },
      { name: 'lifetime', type: T.duration(), readOnly: true },
      { name: 'dpd-interval', type: T.duration(), readOnly: true },
      { name: 'dpd-maximum-failures', type: T.int(0, 100), readOnly: true },
    ],
    flags: [X, D],
    printStyle: 'detail',
    dynamicOnly: true,
    commands: [],
  },
  {
    path: '/interface',
    kind: 'list',
    props: [
      { name: 'name', type: T.name, readOnly: true },
      { name: 'type', type: T.name, readOnly: true },
      { name: 'mtu', type: T.int(0, 65535), readOnly: true },
    ],
    flags: [D, X, R],
    printStyle: 'table',
    columns: [
      { title: 'NAME', prop: 'name', width: 20 },
      { title: 'TYPE', prop: 'type', width: 12 },
      { title: 'MTU', prop: 'mtu', width: 0 },
    ],
    summary: true,
    commands: [],
  },
];

const byPath = new Map(MENUS.map((m) => [m.path, m]));

export function menuByPath(path: string): Menu | undefined {
  return byPath.get(path);
}

/** Every path segment sequence that is a menu or a directory leading to menus (for navigation). */
export const DIRECTORIES: ReadonlySet<string> = (() => {
  const s = new Set<string>(['/']);
  for (const m of MENUS) {
    const parts = m.path.slice(1).split(' ');
    for (let i = 1; i <= parts.length; i++) s.add('/' + parts.slice(0, i).join(' '));
  }
  s.add('/system');
  return s;
})();

export function prop(menu: Menu, name: string): Prop | undefined {
  return menu.props.find((p) => p.name === name);
}
