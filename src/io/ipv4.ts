import { ConfigError } from '../errors.js';

/** Dotted quad to a host-order uint32 (what the addon's metadata words hold). */
export function ipv4ToU32(s: string): number {
  const p = s.split('.');
  if (p.length !== 4) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `"${s}" is not an IPv4 address (a.b.c.d)`);
  let v = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) {
      throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `"${s}" is not an IPv4 address (a.b.c.d)`);
    }
    v = v * 256 + Number(x);
  }
  return v >>> 0;
}

export function u32ToIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
