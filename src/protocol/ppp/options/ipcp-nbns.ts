/** IPCP options 130 Primary-NBNS and 132 Secondary-NBNS (RFC 1877 §1.2, §1.4), as DNS. */
import { makeServerAddressOption } from './ipcp-server-address.js';

export const PRIMARY = 130;
export const SECONDARY = 132;

export const primary = makeServerAddressOption(PRIMARY, 'Primary-NBNS');
export const secondary = makeServerAddressOption(SECONDARY, 'Secondary-NBNS');
export { encode, decode } from './ipcp-server-address.js';
