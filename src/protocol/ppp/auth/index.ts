/**
 * PPP authentication (PAP, CHAP-MD5, MS-CHAPv1, MS-CHAPv2), both roles, sans-I/O.
 *
 * The link creates one machine per authentication phase, calls start(), feeds it every PAP
 * (0xc023) or CHAP (0xc223) information field with receive(), and gets exactly one done()
 * — unless it calls stop() first (then done() is never called). Machines stay alive after
 * done() to re-answer retransmissions (RFC 1994 §4.1) until stop().
 */
import { ConfigError } from '../../../errors.js';
import { ChapClient, ChapServer, type ChapAlgorithm } from './chap.js';
import { chapMd5 } from './chap-md5.js';
import { mschap1 } from './mschap1.js';
import { mschap2 } from './mschap2.js';
import { PapClient, PapServer } from './pap.js';
import type { AuthMethod } from './types.js';
import type { AuthClientOptions, AuthMachine, AuthServerOptions } from './common.js';

export type { AuthClientOptions, AuthMachine, AuthServerOptions } from './common.js';
export { REASON_FAILED, REASON_SERVER_MISMATCH, REASON_TIMEOUT } from './common.js';
export { LocalVerifier, type LocalSecret, type LocalVerifierOptions } from './verifier.js';
export * from './types.js';

const CHAP_ALGORITHMS: Record<Exclude<AuthMethod, 'pap'>, ChapAlgorithm> = {
  chap: chapMd5,
  mschap1,
  mschap2,
};

function algorithm(method: AuthMethod): ChapAlgorithm | undefined {
  if (method === 'pap') return undefined;
  const a = CHAP_ALGORITHMS[method];
  if (!a) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `unknown authentication method ${JSON.stringify(method)} (use pap, chap, mschap1 or mschap2)`);
  return a;
}

/** The authenticatee: proves `user`/`password` to the peer. */
export function createAuthClient(method: AuthMethod, opts: AuthClientOptions): AuthMachine {
  const a = algorithm(method);
  return a ? new ChapClient(a, opts) : new PapClient(opts);
}

/** The authenticator: challenges the peer and asks `verifier`. */
export function createAuthServer(method: AuthMethod, opts: AuthServerOptions): AuthMachine {
  const a = algorithm(method);
  return a ? new ChapServer(a, opts) : new PapServer(opts);
}
