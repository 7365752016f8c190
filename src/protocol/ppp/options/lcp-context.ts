/** What LCP option handlers read and write: our wishes, the peer's granted values. */
import type { AuthMethod } from '../auth/types.js';
import type { NegotiationContext } from './types.js';

export interface LcpContext extends NegotiationContext {
  role: 'client' | 'server';
  random32(): number;

  // Our side: what we ask the peer for in our Configure-Request.
  mru: number;
  maxMru: number;
  requestMru: boolean;
  magic: number;
  requestMagic: boolean;
  requestPfc: boolean;
  requestAcfc: boolean;
  /** MRRU (RFC 1990) when multilink is configured; undefined = disabled. */
  mrru?: number;
  requestMrru: boolean;
  endpoint?: { klass: number; address: Uint8Array };
  requestEndpoint: boolean;
  /** Server: the methods to offer, strongest first (its `authentication` list). */
  authOffer: readonly AuthMethod[];
  /** Server: the method currently requested. */
  authCurrent?: AuthMethod;
  /** Server: methods the peer has refused (Nak'd) in this negotiation. */
  authRefused: Set<AuthMethod>;
  /** Client: the methods it will authenticate with (`allow`). */
  allow: readonly AuthMethod[];
  /** Client: we Nak'd or rejected the peer's Authentication-Protocol (none of its offers allowed yet). */
  authRefusedByUs?: boolean;

  // Results.
  /** Server: the method the peer agreed to (our request was Ack'd). */
  authAgreed?: AuthMethod;
  /** Client: the method the peer asked for and we Ack'd. */
  peerAuth?: AuthMethod;
  peerMru: number;
  peerMagic: number;
  peerAccm?: number;
  /** The peer may receive PFC/ACFC frames from us (it asked, we Ack'd). */
  peerPfc: boolean;
  peerAcfc: boolean;
  peerMrru?: number;
  peerEndpoint?: { klass: number; address: Uint8Array };
  ourPfcAcked: boolean;
  ourAcfcAcked: boolean;
  mrruAcked: boolean;

  // Loopback detection (RFC 1661 §6.4).
  lastNakMagic?: number;
  loopCount: number;
}

/** Repeated own-Nak echoes before the link is declared looped-back (below Max-Failure 5). */
export const LOOPBACK_LIMIT = 3;
export const MIN_MRU = 128;
export const DEFAULT_MRU = 1500;
