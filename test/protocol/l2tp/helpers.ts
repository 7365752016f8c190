/** Two L2TP endpoints (LAC at 198.18.0.1, LNS at 198.18.0.2:1701) on an in-memory Net. */
import { L2tpEndpoint, type EndpointOptions } from '../../../src/protocol/l2tp/endpoint.js';
import type { L2tpTunnel, PeerAddress } from '../../../src/protocol/l2tp/tunnel.js';
import { decodeControlMessage, type L2tpControl } from '../../../src/codec/l2tp/message.js';
import { kind, Net, seededBytes, type Datagram } from './net.js';

export type EpOpts = Partial<Omit<EndpointOptions, 'clock' | 'send'>>;

export interface Pair {
  net: Net;
  lac: L2tpEndpoint;
  lns: L2tpEndpoint;
  lacAddr: PeerAddress;
  lnsAddr: PeerAddress;
  logs: string[];
}

export const LAC_ADDR = '198.18.0.1';
export const LNS_ADDR = '198.18.0.2';

export function makePair(lacOpts: EpOpts = {}, lnsOpts: EpOpts = {}, net = new Net()): Pair {
  const lacAddr = { address: LAC_ADDR, port: 40000 };
  const lnsAddr = { address: LNS_ADDR, port: 1701 };
  const logs: string[] = [];
  const lac = new L2tpEndpoint({ clock: net.clock, role: 'lac', hostName: 'lac.test', randomBytes: seededBytes(11), send: net.sender(lacAddr), log: (l) => logs.push(l), ...lacOpts });
  const lns = new L2tpEndpoint({ clock: net.clock, role: 'lns', hostName: 'lns.test', acceptTunnels: true, randomBytes: seededBytes(22), send: net.sender(lnsAddr), log: (l) => logs.push(l), ...lnsOpts });
  net.attach(LAC_ADDR, (b, o, l, f) => lac.receive(b, o, l, f));
  net.attach(LNS_ADDR, (b, o, l, f) => lns.receive(b, o, l, f));
  return { net, lac, lns, lacAddr, lnsAddr, logs };
}

/** LAC dials; runs until both sides are established. */
export function establish(p: Pair): { lacT: L2tpTunnel; lnsT: L2tpTunnel } {
  const lacT = p.lac.connect(p.lnsAddr);
  p.net.runUntil(() => lacT.isUp && [...p.lns.tunnels.values()].some((t) => t.isUp), 5000);
  const lnsT = [...p.lns.tunnels.values()].find((t) => t.peerTunnelId === lacT.localTunnelId);
  if (!lacT.isUp || !lnsT?.isUp) throw new Error('tunnel did not come up');
  return { lacT, lnsT };
}

/** Control messages (decoded) among datagrams. */
export function controls(ds: Datagram[], secret?: string): { d: Datagram; m: L2tpControl }[] {
  const out: { d: Datagram; m: L2tpControl }[] = [];
  for (const d of ds) {
    const k = kind(d);
    if (k === 'data' || k === 'ZLB' || k === '?') continue;
    const m = decodeControlMessage(d.data, { secret });
    if (!m.zlb) out.push({ d, m });
  }
  return out;
}

export function from(ds: Datagram[], address: string): Datagram[] {
  return ds.filter((d) => d.from.address === address);
}
