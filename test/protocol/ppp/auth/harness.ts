/** Connects an auth client and server through a FakeClock "wire" the test can tamper with. */
import { FakeClock } from '../../../../src/protocol/clock.js';
import { createAuthClient, createAuthServer, LocalVerifier, type AuthMachine } from '../../../../src/protocol/ppp/auth/index.js';
import type { AuthMethod, AuthResult, AuthVerifier } from '../../../../src/protocol/ppp/auth/types.js';

export interface Wire {
  from: 'client' | 'server';
  protocol: number;
  payload: Uint8Array;
}

export const SECRETS: Record<string, string> = { alice: 'wonderland', 'ia-user': 'ia-pass-123', User: 'clientPass' };
export const verifier = (): LocalVerifier => new LocalVerifier((u) => (u in SECRETS ? { password: SECRETS[u] } : undefined));

export interface Pair {
  clock: FakeClock;
  client: AuthMachine;
  server: AuthMachine;
  clientDone: AuthResult[];
  serverDone: AuthResult[];
  /** Every frame sent, in order. */
  log: Wire[];
  /** Return false to drop a frame, or a replacement payload. */
  filter: (w: Wire) => boolean | Uint8Array;
  logs: string[];
  /** Deliver queued frames until quiet. */
  flush(): void;
}

export function makePair(
  method: AuthMethod,
  opts: { user?: string; password?: string; verifier?: AuthVerifier; name?: string; clientRandom?: (n: number) => Uint8Array; serverRandom?: (n: number) => Uint8Array } = {},
): Pair {
  const clock = new FakeClock();
  const queue: Wire[] = [];
  const logs: string[] = [];
  const p: Pair = {
    clock,
    clientDone: [],
    serverDone: [],
    log: [],
    filter: () => true,
    logs,
    flush() {
      while (queue.length) {
        const w = queue.shift()!;
        const f = p.filter(w);
        if (f === false) continue;
        const payload = f instanceof Uint8Array ? f : w.payload;
        (w.from === 'client' ? p.server : p.client).receive(w.protocol, payload);
      }
    },
  } as unknown as Pair;
  const q = (from: 'client' | 'server') => (protocol: number, payload: Uint8Array) => {
    const w = { from, protocol, payload: Uint8Array.from(payload) };
    p.log.push(w);
    queue.push(w);
  };
  p.client = createAuthClient(method, {
    user: opts.user ?? 'alice',
    password: opts.password ?? 'wonderland',
    clock,
    send: q('client'),
    done: (r) => p.clientDone.push(r),
    log: (l) => logs.push('client ' + l),
    ...(opts.clientRandom ? { random: opts.clientRandom } : {}),
  });
  p.server = createAuthServer(method, {
    name: opts.name ?? 'culvert',
    verifier: opts.verifier ?? verifier(),
    clock,
    send: q('server'),
    done: (r) => p.serverDone.push(r),
    log: (l) => logs.push('server ' + l),
    ...(opts.serverRandom ? { random: opts.serverRandom } : {}),
  });
  return p;
}

/** Start both ends (server first, as the link does after LCP) and run until quiet. */
export function run(p: Pair): Pair {
  p.server.start();
  p.client.start();
  p.flush();
  return p;
}
