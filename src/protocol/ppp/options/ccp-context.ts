/** What the CCP (MPPE) option handler reads and writes. */
import type { NegotiationContext } from './types.js';

export type UseEncryption = 'no' | 'yes' | 'required';
export type MppeBits = 40 | 56 | 128;
/** Which MPPE key-change mode we accept (RFC 3078 §2.1 H bit). */
export type MppeMode = 'stateless' | 'stateful' | 'either';

export interface MppeChoice {
  bits: MppeBits;
  stateless: boolean;
}

export interface CcpContext extends NegotiationContext {
  useEncryption: UseEncryption;
  /** MS-CHAP produced keys, so MPPE is possible at all. */
  keysAvailable: boolean;
  /** Allowed key lengths (profile), as an S|M|L mask. */
  allowedMask: number;
  mode: MppeMode;
  // Our request.
  offerMppe: boolean;
  reqMask: number;
  reqStateless: boolean;
  missingHintSent: boolean;
  // Results: ours = what the peer agreed to receive from... (our request Ack'd: peer -> us),
  // peer = what we Ack'd (us -> peer).
  ours?: MppeChoice;
  peer?: MppeChoice;
}
