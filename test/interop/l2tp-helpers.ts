/**
 * Shared pieces of the L2TP interop tests against xl2tpd (l2tp-client.test.ts,
 * l2tp-server.test.ts): the case axes, `/ppp active` parsing, and how a tunnel secret is
 * configured on culvert. The daemon, transfer and ping helpers are pptp-helpers.ts's.
 */
import { waitFor, type CulvertDaemon } from './pptp-helpers.js';

/** The tunnel secret both sides use in the secret cases (xl2tpd: `--l2tp-secret`). */
export const L2TP_TUNNEL_SECRET = 'ia-tunnel-s3cret';

export interface L2tpCase {
  auth: 'mschapv2' | 'chap' | 'pap';
  /** MPPE-128 required on both sides (needs MS-CHAP). */
  mppe: boolean;
  /** xl2tpd's kernel data path (l2tp_ppp) or its userspace one (pty, L bit set). */
  kernel: boolean;
  /** L2TP tunnel authentication (§5.1.1) with L2TP_TUNNEL_SECRET. */
  secret: boolean;
}

export function l2tpCaseName(c: L2tpCase): string {
  const auth = { mschapv2: 'MS-CHAPv2', chap: 'CHAP', pap: 'PAP' }[c.auth];
  return `${auth}${c.mppe ? ' + MPPE-128' : ', no MPPE'}, xl2tpd ${c.kernel ? 'kernel' : 'userspace'} data path, ${c.secret ? 'tunnel secret' : 'no tunnel secret'}`;
}

/**
 * Sets the L2TP server's tunnel secret (`l2tp-secret`, a culvert extension; empty = none).
 * The server takes it when it starts, so it is disabled around the change.
 */
export async function setServerTunnelSecret(d: CulvertDaemon, secret: string | undefined): Promise<void> {
  await d.cli(`/interface l2tp-server server set enabled=no l2tp-secret="${secret ?? ''}"`);
  // The server closes asynchronously (StopCCN, up to 3 s for the tunnels to go, then the
  // interfaces); enabling it again before that is refused ("an L2TP server endpoint is
  // already attached"), and the runtime does not retry: wait until it is surely gone.
  await waitFor(async () => (await pppActive(d)).length === 0, 10_000, 'the L2TP server to drop its calls');
  await new Promise((r) => setTimeout(r, 4000));
  await d.cli('/interface l2tp-server server set enabled=yes');
}

/** Sets an L2TP client's tunnel secret (`l2tp-secret`, a culvert extension; empty = none). */
export async function setClientTunnelSecret(d: CulvertDaemon, name: string, secret: string | undefined): Promise<void> {
  await d.cli(`/interface l2tp-client set ${name} l2tp-secret="${secret ?? ''}"`);
}

/**
 * Whether the last link in a pppd log authenticated: pppd as MS-CHAPv2 authenticator logs no
 * "authentication succeeded" line, only the Success packet it sent (or, as the peer, got).
 */
export function pppdAuthenticated(log: string): boolean {
  const l = log.slice(Math.max(0, log.lastIndexOf('Using interface')));
  return /authentication succeeded|\[CHAP Success|\[PAP AuthAck/.test(l);
}

/** `print detail` puts several key=value on a line. */
function keyValuesInline(block: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const m of block.matchAll(/([a-z][a-z0-9-]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) r[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  return r;
}

/** `/ppp active print detail` rows as key/values (one block per session). */
export async function pppActive(d: CulvertDaemon): Promise<Record<string, string>[]> {
  const out = await d.cli('/ppp active print detail');
  return out.split(/\n\s*\n|\n(?=\s*\d+\s)/).map((b) => keyValuesInline(b)).filter((r) => r.name !== undefined);
}
