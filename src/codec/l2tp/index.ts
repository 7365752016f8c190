/** L2TPv2 wire codecs (RFC 2661): header, AVPs, hidden AVPs, control messages, tunnel authentication. */
export * from './header.js';
export * from './message-types.js';
export * from './result-codes.js';
export * from './attributes.js';
export * from './avp.js';
export * from './hidden.js';
export * from './challenge.js';
export * from './message.js';
