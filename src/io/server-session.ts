/**
 * What the PPTP and L2TP servers (src/io/pptp/server.ts, src/io/l2tp/server.ts) share about
 * one call's user: the settings resolved at authentication time (RouterOS: secret > profile >
 * pool) and the verifier that checks the password, resolves them and hands them to the call.
 */
import type { AuthRequest, AuthVerdict, AuthVerifier } from '../protocol/ppp/auth/types.js';
import { LocalVerifier } from '../protocol/ppp/auth/verifier.js';
import type { UseEncryption } from '../protocol/ppp/options/ccp-context.js';
import type { Route } from './routes.js';

/** What the server learns about a user at authentication (RouterOS: secret > profile > pool). */
export interface ServerSessionSettings {
  localAddress?: string;
  remoteAddress?: string;
  dns?: string[];
  useEncryption?: UseEncryption;
  routes?: Route[];
  /** Give pool addresses back (idempotent). */
  release(): void;
}

/** The part of the settings PPP negotiates (IPCP addresses and DNS, MPPE policy). */
export function peerSettings(s: ServerSessionSettings): { localAddress?: string; remoteAddress?: string; dns?: string[]; useEncryption?: UseEncryption } {
  return { localAddress: s.localAddress, remoteAddress: s.remoteAddress, dns: s.dns, useEncryption: s.useEncryption };
}

export interface SessionVerifierHooks {
  /** `pptp` / `l2tp`: the log prefix. */
  service: string;
  /** The caller's address (RouterOS caller-id), for the log and the resolver. */
  callerId(): string;
  /** The password of an enabled secret for this user, or undefined. Never logged. */
  passwordFor(user: string): string | undefined;
  /** Resolve the session once the password checked out; throws to refuse (only-one, empty pool...). */
  sessionFor(user: string, callerId: string): ServerSessionSettings;
  /** Counts a refusal (wrong password or a resolver that refused). */
  onFailure(): void;
  /** Checked before resolving: false refuses with "call gone" without touching the pools. */
  alive?(): boolean;
  /** Hands the resolved settings to the call; false (the call is gone) gives them back and refuses. */
  attach(user: string, settings: ServerSessionSettings): boolean;
  log?: (line: string) => void;
}

/**
 * The verifier of one server call: the password against the local secrets, then the session
 * resolved (pool addresses are taken only for a user whose password checked out).
 */
export function sessionVerifier(h: SessionVerifierHooks): AuthVerifier {
  return {
    verify: async (req: AuthRequest): Promise<AuthVerdict> => {
      const callerId = h.callerId();
      const local = new LocalVerifier((u) => {
        const p = h.passwordFor(u);
        return p === undefined ? undefined : { password: p };
      });
      const v = await local.verify(req);
      if (!v.ok) {
        h.onFailure();
        h.log?.(`${h.service} server: authentication failed for user ${req.user} from ${callerId}`);
        return v;
      }
      if (h.alive && !h.alive()) return { ok: false, message: 'call gone' };
      let settings: ServerSessionSettings;
      try {
        settings = h.sessionFor(req.user, callerId);
      } catch (e) {
        h.onFailure();
        h.log?.(`${h.service} server: refusing user ${req.user} from ${callerId}: ${(e as Error).message}`);
        return { ok: false, message: (e as Error).message };
      }
      if (!h.attach(req.user, settings)) {
        settings.release();
        return { ok: false, message: 'call gone' };
      }
      return v;
    },
  };
}
