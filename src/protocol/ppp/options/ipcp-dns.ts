/**
 * IPCP options 129 Primary-DNS and 131 Secondary-DNS (RFC 1877 §1.1, §1.3). The
 * server hands out its configured values by Nak'ing whatever the client asked with
 * (usually 0.0.0.0) and rejects the option when it has none; the client asks only
 * when configured to (RouterOS use-peer-dns) and keeps what the Nak told it.
 */
import { makeServerAddressOption } from './ipcp-server-address.js';

export const PRIMARY = 129;
export const SECONDARY = 131;

export const primary = makeServerAddressOption(PRIMARY, 'Primary-DNS');
export const secondary = makeServerAddressOption(SECONDARY, 'Secondary-DNS');
export { encode, decode } from './ipcp-server-address.js';
