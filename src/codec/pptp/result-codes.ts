/**
 * PPTP Result, Reason and General Error codes (RFC 2637 §2.2–§2.16). The meaning of a
 * Result Code depends on the message that carries it, hence one table per message.
 */

/** Start-Control-Connection-Reply Result Code (RFC 2637 §2.2). */
export const PptpSccrpResult = {
  Success: 1,
  GeneralError: 2,
  AlreadyExists: 3,
  NotAuthorized: 4,
  VersionNotSupported: 5,
} as const;

/** Stop-Control-Connection-Request Reason (RFC 2637 §2.3). */
export const PptpStopReason = {
  None: 1,
  StopProtocol: 2,
  StopLocalShutdown: 3,
} as const;

/** Stop-Control-Connection-Reply Result Code (RFC 2637 §2.4). */
export const PptpStopResult = {
  Ok: 1,
  GeneralError: 2,
} as const;

/** Echo-Reply Result Code (RFC 2637 §2.6). */
export const PptpEchoResult = {
  Ok: 1,
  GeneralError: 2,
} as const;

/** Outgoing-Call-Reply Result Code (RFC 2637 §2.8). */
export const PptpOcrpResult = {
  Connected: 1,
  GeneralError: 2,
  NoCarrier: 3,
  Busy: 4,
  NoDialTone: 5,
  TimeOut: 6,
  DoNotAccept: 7,
} as const;

/** Incoming-Call-Reply Result Code (RFC 2637 §2.10). */
export const PptpIcrpResult = {
  Connect: 1,
  GeneralError: 2,
  DoNotAccept: 3,
} as const;

/** Call-Disconnect-Notify Result Code (RFC 2637 §2.13). */
export const PptpCdnResult = {
  LostCarrier: 1,
  GeneralError: 2,
  AdminShutdown: 3,
  Request: 4,
} as const;

/**
 * General Error Codes (RFC 2637 §2.16): the Error Code field of a reply whose Result
 * Code is "General Error"; 0 otherwise.
 */
export const PptpGeneralError = {
  None: 0,
  NotConnected: 1,
  BadFormat: 2,
  BadValue: 3,
  NoResource: 4,
  BadCallId: 5,
  PacError: 6,
} as const;

export const PPTP_GENERAL_ERROR_TEXT: Readonly<Record<number, string>> = {
  0: 'no general error',
  1: 'no control connection exists yet',
  2: 'length is wrong or magic cookie is incorrect',
  3: 'a field value was out of range or a reserved field was non-zero',
  4: 'insufficient resources',
  5: 'the Call ID is invalid in this context',
  6: 'generic vendor-specific error in the PAC',
};
