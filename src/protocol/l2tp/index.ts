/** L2TPv2 protocol layer (RFC 2661), sans-I/O: reliable transport, tunnels, sessions, LAC/LNS facades. */
export * from './reliable.js';
export * from './session.js';
export * from './tunnel.js';
export * from './endpoint.js';
export * from './call.js';
export * from './lac.js';
export * from './lns.js';
