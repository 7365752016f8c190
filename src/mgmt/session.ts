/**
 * What a tunnel server asks when a user connects: which secret, which profile, which
 * addresses. Precedence as RouterOS: a value on the secret beats the profile; the
 * profile is the secret's own if it names one, else the service's default-profile; a
 * tri-state `default` in a profile defers to the built-in `default` profile; a literal
 * address beats a pool; pools hand out and reclaim addresses. Pure: works on a
 * ConfigView and an in-memory PoolManager.
 */
import { isIPv4 } from 'node:net';
import { ConfigError } from '../errors.js';
import type { ConfigView, ItemView } from './runtime.js';
import { PoolManager } from './pool.js';
import { parseDuration } from './types.js';

export type Service = 'pptp' | 'l2tp';

export interface SessionRoute {
  dst: string;
  /** Gateway; undefined means "the client's remote address". */
  gateway?: string;
  distance: number;
}

export interface ResolvedSession {
  user: string;
  service: Service;
  profile: string;
  /** For the local verifier (PAP/CHAP/MS-CHAP). Never log it. */
  password: string;
  callerId: string;
  localAddress?: string;
  remoteAddress?: string;
  dns: string[];
  useEncryption: 'no' | 'yes' | 'required';
  onlyOne: boolean;
  changeTcpMss: boolean;
  routes: SessionRoute[];
  /** Seconds; 0 = none. */
  sessionTimeout: number;
  idleTimeout: number;
  rateLimit?: string;
  /** Give the allocated addresses back and forget the session. Idempotent. */
  release(): void;
}

export class SessionResolver {
  readonly pools = new PoolManager();
  private readonly active = new Map<string, number>();
  private readonly getView: () => ConfigView;

  constructor(getView: () => ConfigView) {
    this.getView = getView;
  }

  /** Find the enabled secret for `user` usable on `service` (service=any matches all). */
  findSecret(user: string, service: Service): ItemView | undefined {
    return this.getView()
      .list('/ppp secret')
      .find((s) => s.values.name === user && s.values.disabled !== 'yes' && (s.values.service === 'any' || s.values.service === service));
  }

  resolveSession(user: string, service: Service, callerId?: string): ResolvedSession {
    const view = this.getView();
    const secret = this.findSecret(user, service);
    if (!secret) throw new ConfigError('SESSION_ERR_NO_SECRET', `no enabled /ppp secret for user ${user} with service ${service} or any`);
    const sv = secret.values;
    if (sv['caller-id'] && callerId !== undefined && sv['caller-id'] !== callerId) {
      throw new ConfigError('SESSION_ERR_CALLER_ID', `user ${user} may only connect from ${sv['caller-id']}`);
    }
    const server = view.single(`/interface ${service}-server server`);
    // A secret naming a profile other than the schema default wins; otherwise the service's default-profile.
    const profileName = sv.profile !== undefined && sv.profile !== 'default' ? sv.profile : (server['default-profile'] ?? 'default');
    const profiles = view.list('/ppp profile');
    const prof = profiles.find((p) => p.values.name === profileName);
    if (!prof) throw new ConfigError('SESSION_ERR_NO_PROFILE', `/ppp profile ${profileName} (for user ${user}) does not exist`);
    const def = profiles.find((p) => p.values.name === 'default');
    const tri = (k: string, fallback: string): string => {
      const v = prof.values[k] ?? 'default';
      if (v !== 'default') return v;
      const d = def?.values[k] ?? 'default';
      return d === 'default' ? fallback : d;
    };
    const onlyOne = tri('only-one', 'no') === 'yes';
    if (onlyOne && (this.active.get(user) ?? 0) > 0) throw new ConfigError('SESSION_ERR_ONLY_ONE', `user ${user} is already connected (only-one=yes)`);

    this.pools.update(view.list('/ip pool').map((p) => ({ name: p.values.name, ranges: p.values.ranges, nextPool: p.values['next-pool'] })));
    const leases: { pool: string; address: string }[] = [];
    const pick = (k: 'local-address' | 'remote-address'): string | undefined => {
      const v = sv[k] ?? prof.values[k];
      if (v === undefined) return undefined;
      if (isIPv4(v)) return v;
      try {
        const l = this.pools.allocate(v, user);
        leases.push(l);
        return l.address;
      } catch (e) {
        for (const x of leases) this.pools.release(x.pool, x.address);
        throw e;
      }
    };
    const localAddress = pick('local-address');
    const remoteAddress = pick('remote-address');
    const routes: SessionRoute[] = (sv.routes ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '')
      .map((r) => {
        const [dst, gateway, dist] = r.split(/\s+/);
        return { dst: dst.includes('/') ? dst : dst + '/32', gateway, distance: dist === undefined ? 1 : Number(dist) };
      });
    const enc = tri('use-encryption', 'no') as 'no' | 'yes' | 'required';
    this.active.set(user, (this.active.get(user) ?? 0) + 1);
    let released = false;
    return {
      user,
      service,
      profile: profileName,
      password: sv.password ?? '',
      callerId: callerId ?? '',
      localAddress,
      remoteAddress,
      dns: prof.values['dns-server'] ? prof.values['dns-server'].split(',') : [],
      useEncryption: enc,
      onlyOne,
      changeTcpMss: tri('change-tcp-mss', 'no') === 'yes',
      routes,
      sessionTimeout: parseDuration(prof.values['session-timeout'] ?? '0s') ?? 0,
      idleTimeout: parseDuration(prof.values['idle-timeout'] ?? '0s') ?? 0,
      rateLimit: prof.values['rate-limit'],
      release: () => {
        if (released) return;
        released = true;
        for (const l of leases) this.pools.release(l.pool, l.address);
        const n = (this.active.get(user) ?? 1) - 1;
        if (n <= 0) this.active.delete(user);
        else this.active.set(user, n);
      },
    };
  }

}
