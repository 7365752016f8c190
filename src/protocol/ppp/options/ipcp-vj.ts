/**
 * IPCP option 2, IP-Compression-Protocol (RFC 1332 §3.2, Van Jacobson). Not implemented
 * (the gain is nil on tunnels, and it breaks with MPPE stateless loss): always rejected,
 * never requested.
 */
import { REJECT, type OptionSpec } from './types.js';
import type { IpcpContext } from './ipcp-context.js';

export const TYPE = 2;

export const spec: OptionSpec<IpcpContext> = {
  type: TYPE,
  name: 'IP-Compression-Protocol',
  request: () => undefined,
  nakked: () => {},
  rejected: () => {},
  judge: () => REJECT,
};
