/** What IPCP option handlers read and write. Addresses are host-order u32 (0 = unknown). */
import type { NegotiationContext } from './types.js';

export interface IpcpContext extends NegotiationContext {
  role: 'client' | 'server';
  /** Our address: the client starts at 0 (asks the server), the server has its own. */
  localAddress: number;
  requestAddress: boolean;
  /** Server: the address we assign to the peer. */
  assignAddress?: number;
  /** Server: we already Nak'd a request lacking IP-Address once. */
  addressHintSent: boolean;
  /** Server: values to hand out, by option type (129 DNS1, 130 NBNS1, 131 DNS2, 132 NBNS2). */
  provide: Map<number, number>;
  /** Client: option types to ask for, and the values learned (by type). */
  ask: Set<number>;
  learned: Map<number, number>;
  /** Result: the peer's address. */
  peerAddress: number;
}

export function formatIPv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function parseIPv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw new TypeError(`not an IPv4 address: ${s}`);
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) throw new TypeError(`not an IPv4 address: ${s}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
