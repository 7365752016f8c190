/**
 * Value types of the RouterOS-style configuration. Every property value is kept as its
 * canonical text (what `print` shows and `export` writes), so parse() is the only place
 * that validates and normalises input. parse() throws ConfigError naming the property.
 */
import { isIPv4 } from 'node:net';
import { ConfigError } from '../errors.js';

export interface ValueType {
  /** Short description of what is accepted, used in error messages and help. */
  readonly accepts: string;
  /** Parse user input to canonical text, or throw ConfigError. */
  parse(input: string, prop: string): string;
  /** String-like values are printed in double quotes (RouterOS prints name="x"). */
  readonly quoted?: boolean;
  /** Possible literal values (for tab completion and set types). */
  readonly choices?: readonly string[];
}

export function invalid(prop: string, accepts: string, input?: string): ConfigError {
  const shown = input === undefined ? '' : ` (got ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '...' : input)})`;
  return new ConfigError('CONFIG_ERR_INVALID_VALUE', `invalid value for argument ${prop}: must be ${accepts}${shown}`);
}

export const bool: ValueType = {
  accepts: 'yes | no',
  choices: ['yes', 'no'],
  parse(v, p) {
    const l = v.toLowerCase();
    if (l === 'yes' || l === 'true') return 'yes';
    if (l === 'no' || l === 'false') return 'no';
    throw invalid(p, this.accepts, v);
  },
};

export function int(min: number, max: number): ValueType {
  return {
    accepts: `integer ${min}..${max}`,
    parse(v, p) {
      if (!/^[0-9]{1,10}$/.test(v)) throw invalid(p, `${min}..${max}`, v);
      const n = Number(v);
      if (n < min || n > max) throw invalid(p, `${min}..${max}`, v);
      return String(n);
    },
  };
}

/** `disabled | integer` (mrru). */
export function intOrDisabled(min: number, max: number): ValueType {
  const i = int(min, max);
  return {
    accepts: `disabled | ${min}..${max}`,
    choices: ['disabled'],
    parse(v, p) {
      if (v.toLowerCase() === 'disabled') return 'disabled';
      try {
        return i.parse(v, p);
      } catch {
        throw invalid(p, this.accepts, v);
      }
    },
  };
}

export function oneOf(values: readonly string[]): ValueType {
  return {
    accepts: values.join(' | '),
    choices: values,
    parse(v, p) {
      const l = v.toLowerCase();
      if (values.includes(l)) return l;
      throw invalid(p, this.accepts, v);
    },
  };
}

/** Multiple choice, printed comma-separated in the declared order (RouterOS prints in its own order). */
export function setOf(values: readonly string[]): ValueType {
  return {
    accepts: `one or more of ${values.join(', ')} (comma-separated)`,
    choices: values,
    parse(v, p) {
      const parts = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
      if (parts.length === 0) throw invalid(p, this.accepts, v);
      for (const x of parts) if (!values.includes(x)) throw invalid(p, this.accepts, v);
      return values.filter((x) => parts.includes(x)).join(',');
    },
  };
}

const CONTROL = /[\x00-\x1f\x7f]/;

export function text(maxLen = 255): ValueType {
  return {
    accepts: `text of at most ${maxLen} characters`,
    quoted: true,
    parse(v, p) {
      if (v.length > maxLen || CONTROL.test(v)) throw invalid(p, this.accepts);
      return v;
    },
  };
}

/** Secret text: like text but never echoed back in error messages. */
export function secretText(maxLen = 255): ValueType {
  return {
    accepts: `text of at most ${maxLen} characters`,
    quoted: true,
    parse(v, p) {
      if (v.length > maxLen || CONTROL.test(v)) throw invalid(p, this.accepts);
      return v;
    },
  };
}

/** Item names: non-empty, no control characters. Linux interface names are checked separately. */
export const name: ValueType = {
  accepts: 'a name (1..64 characters, no control characters)',
  parse(v, p) {
    if (v.length < 1 || v.length > 64 || CONTROL.test(v)) throw invalid(p, this.accepts, v);
    return v;
  },
};

/** A string that is printed quoted (interface names, user names). */
export const quotedName: ValueType = { ...name, quoted: true };

export const ipv4: ValueType = {
  accepts: 'an IPv4 address',
  parse(v, p) {
    if (!isIPv4(v)) throw invalid(p, this.accepts, v);
    return v;
  },
};

export function ipToInt(a: string): number {
  const p = a.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function intToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function parsePrefix(v: string): { addr: string; len: number } | undefined {
  const m = /^([0-9.]+)(?:\/([0-9]{1,2}))?$/.exec(v);
  if (!m || !isIPv4(m[1])) return undefined;
  const len = m[2] === undefined ? 32 : Number(m[2]);
  if (len > 32) return undefined;
  return { addr: m[1], len };
}

export function networkOf(addr: string, len: number): string {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return intToIp((ipToInt(addr) & mask) >>> 0);
}

/** Interface address `A.B.C.D/len` (host bits kept). */
export const ipPrefix: ValueType = {
  accepts: 'an IPv4 address with prefix length, e.g. 198.18.0.1/24',
  parse(v, p) {
    const x = parsePrefix(v);
    if (!x) throw invalid(p, this.accepts, v);
    return `${x.addr}/${x.len}`;
  },
};

/** Destination network: host bits are cleared as RouterOS does. */
export const ipNetwork: ValueType = {
  accepts: 'an IPv4 network, e.g. 198.18.0.0/24',
  parse(v, p) {
    const x = parsePrefix(v);
    if (!x) throw invalid(p, this.accepts, v);
    return `${networkOf(x.addr, x.len)}/${x.len}`;
  },
};

export function ipList(): ValueType {
  return {
    accepts: 'comma-separated IPv4 addresses',
    parse(v, p) {
      const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (parts.length === 0 || parts.some((x) => !isIPv4(x))) throw invalid(p, this.accepts, v);
      return parts.join(',');
    },
  };
}

/** Address pool ranges: `a-b`, `a` or `net/len`, comma-separated. */
export const ranges: ValueType = {
  accepts: 'address ranges like 198.18.99.2-198.18.99.100 or 198.18.99.0/24, comma-separated',
  parse(v, p) {
    const out: string[] = [];
    for (const part of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const dash = part.indexOf('-');
      if (dash >= 0) {
        const a = part.slice(0, dash);
        const b = part.slice(dash + 1);
        if (!isIPv4(a) || !isIPv4(b) || ipToInt(a) > ipToInt(b)) throw invalid(p, this.accepts, v);
        out.push(`${a}-${b}`);
      } else {
        const x = parsePrefix(part);
        if (!x) throw invalid(p, this.accepts, v);
        out.push(part.includes('/') ? `${networkOf(x.addr, x.len)}/${x.len}` : x.addr);
      }
    }
    if (out.length === 0) throw invalid(p, this.accepts, v);
    return out.join(',');
  },
};

/** `1d2h3m4s`, `30s`, `90` (seconds) -> seconds. Returns undefined on bad input. */
export function parseDuration(v: string): number | undefined {
  if (/^[0-9]{1,10}$/.test(v)) return Number(v);
  const m = /^(?:([0-9]{1,5})w)?(?:([0-9]{1,5})d)?(?:([0-9]{1,5})h)?(?:([0-9]{1,5})m)?(?:([0-9]{1,7})s)?$/.exec(v);
  if (!m || v === '') return undefined;
  const [w, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  return (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s;
}

/** Seconds -> RouterOS duration text (`7h24m18s`, `0s`). */
export function formatDuration(sec: number): string {
  sec = Math.max(0, Math.floor(sec));
  if (sec === 0) return '0s';
  const w = Math.floor(sec / 604800);
  const d = Math.floor((sec % 604800) / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return `${w ? w + 'w' : ''}${d ? d + 'd' : ''}${h ? h + 'h' : ''}${m ? m + 'm' : ''}${s ? s + 's' : ''}`;
}

/** Duration printed as RouterOS time (`1h30m`). */
export function duration(maxSec = 4294967295): ValueType {
  return {
    accepts: 'a time like 30s, 10m, 1h30m or 0s',
    parse(v, p) {
      const n = parseDuration(v.toLowerCase());
      if (n === undefined || n > maxSec) throw invalid(p, this.accepts, v);
      return formatDuration(n);
    },
  };
}

/** Seconds printed as a plain integer (keepalive-timeout: 30), accepting `30s`, `1m` too. */
export function seconds(min: number, max: number): ValueType {
  return {
    accepts: `seconds ${min}..${max}`,
    parse(v, p) {
      const n = parseDuration(v.toLowerCase());
      if (n === undefined || n < min || n > max) throw invalid(p, this.accepts, v);
      return String(n);
    },
  };
}

/** rate-limit: `rx[/tx] [rx-burst[/tx-burst] ...]` with k/M/G suffixes; stored, not enforced here. */
export const rateLimit: ValueType = {
  accepts: 'rx-rate[/tx-rate] [bursts...] like 2M/4M, numbers with optional k, M or G',
  parse(v, p) {
    const rate = '[0-9]{1,10}[kKmMgG]?';
    const pair = `${rate}(?:/${rate})?`;
    const re = new RegExp(`^${pair}(?: ${pair}){0,4}(?: [0-9]{1,3})?$`);
    if (!re.test(v.trim())) throw invalid(p, this.accepts, v);
    return v.trim();
  },
};

/** Static routes pushed with a PPP secret: `dst gw metric`, comma-separated. */
export const routesText: ValueType = {
  accepts: 'routes like "198.18.2.0/24 198.18.1.2 1", comma-separated',
  quoted: true,
  parse(v, p) {
    if (v === '') return '';
    for (const r of v.split(',')) {
      const f = r.trim().split(/\s+/);
      if (f.length < 1 || f.length > 3) throw invalid(p, this.accepts, v);
      if (!parsePrefix(f[0])) throw invalid(p, this.accepts, v);
      if (f[1] !== undefined && !isIPv4(f[1])) throw invalid(p, this.accepts, v);
      if (f[2] !== undefined && !/^[0-9]{1,3}$/.test(f[2])) throw invalid(p, this.accepts, v);
    }
    return v;
  },
};

/** Port list `1701,500,4500` or ranges `1000-2000`. */
export const portList: ValueType = {
  accepts: 'ports 0..65535 or ranges, comma-separated',
  parse(v, p) {
    const parts = v.split(',');
    for (const x of parts) {
      const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(x);
      if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) {
        throw invalid(p, this.accepts, v);
      }
    }
    return parts.join(',');
  },
};

/** Linux interface name rules (IFNAMSIZ 16 incl. NUL, no '/', no whitespace). */
export const linuxIfName: ValueType = {
  accepts: 'an interface name (1..15 characters, no spaces or "/")',
  parse(v, p) {
    if (!/^[^\s/:]{1,15}$/.test(v) || v === '.' || v === '..') throw invalid(p, this.accepts, v);
    return v;
  },
};

/** IPv4 address or an interface name (route gateway). */
export const gateway: ValueType = {
  accepts: 'an IPv4 address or an interface name',
  parse(v, p) {
    if (isIPv4(v)) return v;
    return linuxIfName.parse(v, p);
  },
};
