/** PPTP wire codecs (RFC 2637): control messages, their TCP stream framing, Enhanced GRE. */
export * from './constants.js';
export * from './result-codes.js';
export {
  encode,
  decode,
  encodingLength,
  peekLength,
  checkFixedHeader,
  create,
  sccrq,
  sccrp,
  type PptpControlMessage,
  type PptpMessageOf,
  type PptpDecodeOptions,
  type StartControlConnectionRequest,
  type StartControlConnectionReply,
  type StopControlConnectionRequest,
  type StopControlConnectionReply,
  type EchoRequest,
  type EchoReply,
  type OutgoingCallRequest,
  type OutgoingCallReply,
  type IncomingCallRequest,
  type IncomingCallReply,
  type IncomingCallConnected,
  type CallClearRequest,
  type CallDisconnectNotify,
  type WanErrorNotify,
  type SetLinkInfo,
} from './control.js';
export { PptpStreamParser, type PptpStreamParserOptions } from './stream-parser.js';
export * as gre from './gre.js';
