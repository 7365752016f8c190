/**
 * Turns captures of real pppd sessions (interop lab, see test/fixtures/ppp/README.md)
 * into the PPP replay fixtures test/fixtures/ppp/<name>.json.
 *
 *   npm run build && node dist/test/interop/extract-ppp-fixtures.js            # all in MANIFEST
 *   node dist/test/interop/extract-ppp-fixtures.js pptp-pap                     # one
 *
 * Pure TypeScript: our own pcap reader (src/codec/pcap.ts) plus the few header
 * parsers below (Ethernet, IPv4, TCP/UDP ports, enhanced GRE, L2TP data header),
 * no tshark. It does nothing when loaded by the test runner.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { decode as decodePcap, LinkType } from '../../src/codec/pcap.js';
import { FIXTURE_DIR, describe, splitPpp, type Direction, type FixtureFrame, type PppFixture } from './ppp-fixture.js';

interface ManifestEntry {
  name: string;
  transport: 'pptp' | 'l2tp';
  /** Directory under test/fixtures/ppp/captures/. */
  dir: string;
  capture: string;
  clientLog: string;
  serverLog: string;
  serverName: string;
  description: string;
}

const PPTP_PEERS = 'client: pppd 2.4.9 + pptp-linux 1.10.0; server: pptpd 1.4.0 + pppd 2.4.9 (Debian bookworm, UML guests)';
const L2TP_PEERS = 'client: xl2tpd 1.3.18 LAC + pppd 2.4.9 pppol2tp; server: xl2tpd 1.3.18 LNS + pppd 2.4.9 pppol2tp (Debian bookworm, UML guests)';

export const MANIFEST: ManifestEntry[] = [
  {
    name: 'pptp-mschapv2-mppe128',
    transport: 'pptp',
    dir: 'selftest',
    capture: 'capture.pcap',
    clientLog: 'pptp-client-pppd.log',
    serverLog: 'pptp-server-pppd.log',
    serverName: 'pptpd',
    description: 'PPTP, MS-CHAPv2, MPPE-128 stateless (selftest.sh main PPTP test): LCP, echo, auth, CCP, IPCP, pings (one 1400-byte), client hang-up',
  },
  {
    name: 'l2tp-mschapv2',
    transport: 'l2tp',
    dir: 'selftest',
    capture: 'capture.pcap',
    clientLog: 'l2tp-client-pppd.log',
    serverLog: 'l2tp-server-pppd.log',
    serverName: 'ia-lns',
    description: 'L2TPv2 kernel data path, MS-CHAPv2, no MPPE (selftest.sh main L2TP test): the LNS first LCP ConfReq is resent after 3 s, auth, IPCP, pings',
  },
  ...(
    [
      ['pptp-mschapv1-mppe128', 'pptp', 'pptpd', 'PPTP, MS-CHAPv1, MPPE-128 stateless'],
      ['pptp-chap', 'pptp', 'pptpd', 'PPTP, CHAP-MD5, no MPPE'],
      ['pptp-pap', 'pptp', 'pptpd', 'PPTP, PAP, no MPPE'],
      ['l2tp-mschapv2-mppe128', 'l2tp', 'ia-lns', 'L2TPv2 kernel data path, MS-CHAPv2, MPPE-128 stateless'],
    ] as const
  ).map(([name, transport, serverName, d]) => ({
    name,
    transport,
    dir: name,
    capture: 'capture.pcap',
    clientLog: 'client-pppd.log',
    serverLog: 'server-pppd.log',
    serverName,
    description: `${d} (scripts/interop-capture-ppp.sh): LCP, echo, auth, IPCP, 3 pings, client hang-up`,
  })),
];

// ---------------------------------------------------------------- packets ----

interface Ip4 {
  src: string;
  dst: string;
  proto: number;
  payload: Uint8Array;
}

const ip = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_GRE = 47;
const GRE_PPP = 0x880b; // RFC 2637 §4.1
const PPTP_PORT = 1723;
const L2TP_PORT = 1701;

let skippedFragments = 0;

function ipv4(linkType: number, frame: Uint8Array): Ip4 | undefined {
  let b = frame;
  if (linkType === LinkType.ETHERNET) {
    if (b.length < 14 || u16(b, 12) !== ETHERTYPE_IPV4) return undefined;
    b = b.subarray(14);
  } else if (linkType !== LinkType.RAW) {
    throw new Error(`link type ${linkType} not supported (capture on the bridge with tcpdump -i ia-br0)`);
  }
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = Math.min(u16(b, 2), b.length);
  if ((u16(b, 6) & 0x3fff) !== 0) {
    // MF set or non-zero offset: no PPP frame in this lab is big enough to fragment.
    skippedFragments++;
    return undefined;
  }
  return { src: ip(b, 12), dst: ip(b, 16), proto: b[9]!, payload: b.subarray(ihl, total) };
}

/** Enhanced GRE (RFC 2637 §4.1): returns call ID and PPP payload, or undefined for ack-only. */
function grePpp(b: Uint8Array): { callId: number; ppp: Uint8Array } | undefined {
  if (b.length < 8 || u16(b, 2) !== GRE_PPP) return undefined;
  const flags = u16(b, 0);
  const payloadLength = u16(b, 4);
  const callId = u16(b, 6);
  let o = 8;
  if (flags & 0x1000) o += 4; // S: sequence number present
  if (flags & 0x0080) o += 4; // A: acknowledgment number present
  if (payloadLength === 0 || o + payloadLength > b.length) return undefined;
  return { callId, ppp: b.subarray(o, o + payloadLength) };
}

interface L2tpMsg {
  control: boolean;
  tunnelId: number;
  sessionId: number;
  body: Uint8Array;
  /** Control messages: first AVP's message type, if it is one. */
  msgType?: number;
}

/** L2TPv2 header (RFC 2661 §3.1). */
function l2tp(b: Uint8Array): L2tpMsg | undefined {
  if (b.length < 6) return undefined;
  const flags = u16(b, 0);
  if ((flags & 0x000f) !== 2) return undefined;
  const control = (flags & 0x8000) !== 0;
  let o = 2;
  let end = b.length;
  if (flags & 0x4000) {
    end = Math.min(u16(b, 2), b.length);
    o += 2;
  }
  const tunnelId = u16(b, o);
  const sessionId = u16(b, o + 2);
  o += 4;
  if (flags & 0x0800) o += 4; // S: Ns, Nr
  if (flags & 0x0200) o += 2 + u16(b, o); // O: offset size + padding
  if (o > end) return undefined;
  const body = b.subarray(o, end);
  const msg: L2tpMsg = { control, tunnelId, sessionId, body };
  // First AVP of a control message is Message Type (attribute 0), value u16 (RFC 2661 §4.1).
  if (control && body.length >= 8 && u16(body, 4) === 0 && u16(body, 2) === 0) msg.msgType = u16(body, 6);
  return msg;
}

// ------------------------------------------------------------ extraction ----

interface Session {
  clientIp: string;
  serverIp: string;
  ids: Record<string, number>;
  frames: { ts: bigint; dir: Direction; ppp: Uint8Array }[];
}

function extractPptp(packets: ReturnType<typeof decodePcap>['packets']): Session {
  let session: Session | undefined;
  for (const p of packets) {
    const v4 = ipv4(p.linkType, p.data);
    if (!v4) continue;
    // The pptp client opens TCP 1723: its SYN (no ACK) names client and server.
    if (!session && v4.proto === IPPROTO_TCP && v4.payload.length >= 14 && u16(v4.payload, 2) === PPTP_PORT) {
      const tcpFlags = v4.payload[13]!;
      if ((tcpFlags & 0x12) === 0x02 && v4.src !== '198.18.0.1') {
        session = { clientIp: v4.src, serverIp: v4.dst, ids: {}, frames: [] };
      }
      continue;
    }
    if (!session || v4.proto !== IPPROTO_GRE) continue;
    const g = grePpp(v4.payload);
    if (!g) continue;
    let dir: Direction;
    if (v4.src === session.clientIp && v4.dst === session.serverIp) dir = 'c2s';
    else if (v4.src === session.serverIp && v4.dst === session.clientIp) dir = 's2c';
    else continue;
    // GRE carries the receiver's call ID (RFC 2637 §4.1).
    const key = dir === 'c2s' ? 'serverCallId' : 'clientCallId';
    if (session.ids[key] === undefined) session.ids[key] = g.callId;
    else if (session.ids[key] !== g.callId) continue; // another call
    session.frames.push({ ts: p.timestampNs, dir, ppp: g.ppp });
  }
  if (!session) throw new Error('no PPTP control connection (TCP SYN to 1723) in the capture');
  return session;
}

const L2TP_SCCRQ = 1;

function extractL2tp(packets: ReturnType<typeof decodePcap>['packets']): Session {
  let session: Session | undefined;
  for (const p of packets) {
    const v4 = ipv4(p.linkType, p.data);
    if (!v4 || v4.proto !== IPPROTO_UDP || v4.payload.length < 8) continue;
    if (u16(v4.payload, 0) !== L2TP_PORT && u16(v4.payload, 2) !== L2TP_PORT) continue;
    const m = l2tp(v4.payload.subarray(8));
    if (!m) continue;
    if (m.control) {
      // The LAC (client) sends SCCRQ; the first one defines the session we keep.
      if (!session && m.msgType === L2TP_SCCRQ) session = { clientIp: v4.src, serverIp: v4.dst, ids: {}, frames: [] };
      continue;
    }
    if (!session) continue;
    let dir: Direction;
    if (v4.src === session.clientIp && v4.dst === session.serverIp) dir = 'c2s';
    else if (v4.src === session.serverIp && v4.dst === session.clientIp) dir = 's2c';
    else continue;
    // Data messages carry the receiver's tunnel and session IDs (RFC 2661 §3.1).
    const side = dir === 'c2s' ? 'server' : 'client';
    if (session.ids[`${side}TunnelId`] === undefined) {
      session.ids[`${side}TunnelId`] = m.tunnelId;
      session.ids[`${side}SessionId`] = m.sessionId;
    } else if (session.ids[`${side}TunnelId`] !== m.tunnelId || session.ids[`${side}SessionId`] !== m.sessionId) continue;
    session.frames.push({ ts: p.timestampNs, dir, ppp: m.body });
  }
  if (!session) throw new Error('no L2TP SCCRQ in the capture');
  return session;
}

// --------------------------------------------------------------- pppd logs ----

function traceLines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => /^(sent|rcvd) \[/.test(l) || /(succeeded|failed|authorized|enabled|IP address|terminated|Remote message)/.test(l))
    .map((l) => l.trimEnd());
}

function negotiated(log: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = log.split('\n');
  const last = (re: RegExp) => [...lines].reverse().find((l) => re.test(l));
  // A client logs "CHAP authentication succeeded"; a server "... peer authentication
  // succeeded for U" (PAP) or "peer from calling number N authorized" (CHAP family).
  // The xl2tpd LNS's pppd logs neither; its sent Success / Auth-Ack is the verdict then.
  const auth =
    lines.find((l) => /authentication (succeeded|failed)|authorized$/.test(l.trim())) ??
    lines.find((l) => /^sent \[(CHAP (Success|Failure)|PAP Auth(Ack|Nak))/.test(l));
  if (auth) out.auth = auth.trim();
  const ccp = lines.find((l) => /MPPE .* enabled/.test(l));
  out.compression = ccp ? ccp.trim() : 'none';
  const local = lines.find((l) => l.startsWith('local  IP address'));
  const remote = lines.find((l) => l.startsWith('remote IP address'));
  if (local) out.localIp = local.split(/\s+/).pop()!;
  if (remote) out.remoteIp = remote.split(/\s+/).pop()!;
  // The options each side accepted: the last ConfAck it sent / received per protocol.
  for (const [key, re] of [
    ['lcpAckedSent', /^sent \[LCP ConfAck/],
    ['lcpAckedRcvd', /^rcvd \[LCP ConfAck/],
    ['ccpAckedSent', /^sent \[CCP ConfAck/],
    ['ipcpAckedSent', /^sent \[IPCP ConfAck/],
    ['ipcpAckedRcvd', /^rcvd \[IPCP ConfAck/],
  ] as const) {
    const l = last(re);
    if (l) out[key] = l.replace(/^(sent|rcvd) \[/, '[').trim();
  }
  const opts = lines.filter((l) => /# \(from /.test(l)).map((l) => l.split('\t')[0]!.trim());
  out.options = opts.join(', ');
  return out;
}

// ------------------------------------------------------------- auth info ----

function authInfo(frames: FixtureFrame[]): Record<string, string> {
  const out: Record<string, string> = {};
  const ppp = frames.map((f) => ({ f, ...splitPpp(Uint8Array.from(Buffer.from(f.hex, 'hex'))) }));
  const chap = ppp.filter((x) => x.proto === 0xc223);
  const pap = ppp.filter((x) => x.proto === 0xc023);
  const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const txt = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  // The method is what LCP agreed: the Authentication-Protocol option (type 3) of the
  // server's Configure-Request (RFC 1661 §6.2; CHAP algorithm 5 MD5, 0x80 MS-CHAP, 0x81 MS-CHAPv2).
  let agreed: string | undefined;
  for (const { f, proto, info } of ppp) {
    if (proto !== 0xc021 || info[0] !== 1 || f.dir !== 's2c') continue;
    for (let o = 4; o + 2 <= info.length && info[o + 1]! >= 2; o += info[o + 1]!) {
      if (info[o] !== 3) continue;
      const p = u16(info, o + 2);
      const alg = info[o + 4];
      agreed = p === 0xc023 ? 'pap' : alg === 0x81 ? 'mschapv2' : alg === 0x80 ? 'mschapv1' : 'chap';
    }
  }
  if (agreed) out.method = agreed;
  if (pap.length) {
    out.method = 'pap';
    for (const { f, info } of pap) {
      if (info[0] === 1) {
        const ul = info[4]!;
        out.papUser = txt(info.subarray(5, 5 + ul));
        out.papFrame = String(f.i);
      } else out[info[0] === 2 ? 'papAckMessage' : 'papNakMessage'] = txt(info.subarray(5, 5 + info[4]!));
    }
  }
  for (const { f, info } of chap) {
    const code = info[0]!;
    const len = u16(info, 2);
    const body = info.subarray(4, len);
    if (code === 1) {
      const vs = body[0]!;
      out.chapId = String(info[1]);
      out.challenge = hx(body.subarray(1, 1 + vs));
      out.challengeName = txt(body.subarray(1 + vs));
      out.challengeFrame = String(f.i);
    } else if (code === 2) {
      const vs = body[0]!;
      const v = body.subarray(1, 1 + vs);
      out.responseName = txt(body.subarray(1 + vs));
      out.responseFrame = String(f.i);
      if (out.method === 'mschapv2' && vs === 49) {
        // RFC 2759 §4: Peer-Challenge(16) Reserved(8) NT-Response(24) Flags(1)
        out.peerChallenge = hx(v.subarray(0, 16));
        out.ntResponse = hx(v.subarray(24, 48));
        out.flags = String(v[48]);
      } else if (out.method === 'mschapv1' && vs === 49) {
        // RFC 2433 §5: LM-Response(24) NT-Response(24) Use-NT(1)
        out.lmResponse = hx(v.subarray(0, 24));
        out.ntResponse = hx(v.subarray(24, 48));
        out.useNt = String(v[48]);
      } else out.response = hx(v);
    } else if (code === 3 || code === 4) {
      out[code === 3 ? 'successMessage' : 'failureMessage'] = txt(body);
      out.resultFrame = String(f.i);
    }
  }
  return out;
}

// -------------------------------------------------------------------- main ----

export function buildFixture(e: ManifestEntry, captureBytes: Uint8Array, clientLog: string, serverLog: string): PppFixture {
  skippedFragments = 0;
  const { packets } = decodePcap(captureBytes);
  const s = e.transport === 'pptp' ? extractPptp(packets) : extractL2tp(packets);
  if (s.frames.length === 0) throw new Error(`${e.name}: no PPP frames found`);
  const t0 = s.frames[0]!.ts;
  const frames: FixtureFrame[] = s.frames.map((f, i) => {
    const { proto, info } = splitPpp(f.ppp);
    return {
      i,
      t: Number((f.ts - t0) / 1000n) / 1000,
      dir: f.dir,
      proto,
      what: describe(proto, info),
      hex: Buffer.from(f.ppp).toString('hex'),
    };
  });
  const notes = [
    'frames: every PPP frame of the session in capture order; hex is the frame as carried (GRE payload / L2TP data payload), FF 03 and protocol compression as on the wire',
    'credentials are the lab test credentials (shared/interop/README.md), not a secret',
  ];
  if (skippedFragments) notes.push(`${skippedFragments} IP fragments were skipped`);
  const ids = Object.fromEntries(Object.entries(s.ids));
  const pick = (side: 'client' | 'server') =>
    Object.fromEntries(Object.entries(ids).filter(([k]) => k.startsWith(side)).map(([k, v]) => [k.slice(side.length, side.length + 1).toLowerCase() + k.slice(side.length + 1), v]));
  return {
    name: e.name,
    description: e.description,
    transport: e.transport,
    source: {
      capture: `captures/${e.dir}/${e.capture}`,
      logs: { client: `captures/${e.dir}/${e.clientLog}`, server: `captures/${e.dir}/${e.serverLog}` },
      generator: 'test/interop/extract-ppp-fixtures.ts',
      peers: e.transport === 'pptp' ? PPTP_PEERS : L2TP_PEERS,
    },
    client: { ip: s.clientIp, ...pick('client') },
    server: { ip: s.serverIp, ...pick('server') },
    credentials: { user: 'ia-user', password: 'ia-pass-123', serverName: e.serverName },
    negotiated: { client: negotiated(clientLog), server: negotiated(serverLog) },
    auth: authInfo(frames),
    pppdTrace: { client: traceLines(clientLog), server: traceLines(serverLog) },
    notes,
    frames,
  };
}

function main(argv: string[]): void {
  const want = argv.length ? MANIFEST.filter((e) => argv.includes(e.name)) : MANIFEST;
  if (want.length === 0) throw new Error(`unknown fixture; known: ${MANIFEST.map((e) => e.name).join(' ')}`);
  for (const e of want) {
    const dir = `${FIXTURE_DIR}captures/${e.dir}/`;
    const fx = buildFixture(
      e,
      readFileSync(dir + e.capture),
      readFileSync(dir + e.clientLog, 'utf8'),
      readFileSync(dir + e.serverLog, 'utf8'),
    );
    // One frame per line keeps the JSON reviewable and diffable.
    const { frames, ...head } = fx;
    const text =
      JSON.stringify(head, null, 2).replace(/\n}$/, ',\n  "frames": [\n') +
      frames.map((f) => '    ' + JSON.stringify(f)).join(',\n') +
      '\n  ]\n}\n';
    writeFileSync(`${FIXTURE_DIR}${e.name}.json`, text);
    console.log(`${e.name}: ${frames.length} frames (${frames.filter((f) => f.dir === 'c2s').length} c2s) -> ${e.name}.json`);
  }
}

// node --test runs every .js under test/; only act when started by hand.
if (!process.env.NODE_TEST_CONTEXT && process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, '/dist/'))) {
  main(process.argv.slice(2));
}
