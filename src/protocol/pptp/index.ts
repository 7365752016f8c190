/** PPTP protocol layer (RFC 2637), sans-I/O: control connection, GRE session, client and server facades. */
export * from './gre-session.js';
export * from './call-ids.js';
export * from './control.js';
export * from './call.js';
export * from './client.js';
export * from './server.js';
