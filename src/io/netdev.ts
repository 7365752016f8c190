/**
 * Link settings of a TUN/TAP device: MTU, up/down, addresses. Runs `ip` with an argv
 * array (execFile, no shell); every value is validated first, so nothing a user typed
 * can become an option or a second command.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, IoError } from '../errors.js';
import { ipv4ToU32 } from './ipv4.js';

const run = promisify(execFile);
const IFNAME = /^[A-Za-z0-9_.:<>-]{1,15}$/;

function checkName(name: string): void {
  if (!IFNAME.test(name)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `interface "${name}" is not a valid interface name`);
}

async function ip(args: string[], netns?: string): Promise<void> {
  try {
    await run('ip', netns ? ['-n', netns, ...args] : args);
  } catch (e) {
    const msg = ((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    throw new IoError(/Operation not permitted/.test(msg) ? 'IO_ERR_NO_CAPABILITY' : 'IO_ERR_LINK', `ip ${args.join(' ')}: ${msg}`, { cause: e });
  }
}

export interface LinkOptions { netns?: string }

/** MTU 68..65535 (RFC 791 minimum; RouterOS max-mtu). */
export async function setMtu(name: string, mtu: number, o: LinkOptions = {}): Promise<void> {
  checkName(name);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `MTU ${mtu} must be 68..65535`);
  await ip(['link', 'set', 'dev', name, 'mtu', String(mtu)], o.netns);
}

/**
 * Packets the kernel may queue for the device before dropping (default 500 for TUN).
 * A userspace forwarder is not always scheduled the moment a burst arrives; a longer
 * queue absorbs the burst (OpenVPN uses 1000 for its TUN).
 */
export async function setTxQueueLen(name: string, qlen: number, o: LinkOptions = {}): Promise<void> {
  checkName(name);
  if (!Number.isInteger(qlen) || qlen < 0 || qlen > 1_000_000) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `txqueuelen ${qlen} must be 0..1000000`);
  await ip(['link', 'set', 'dev', name, 'txqueuelen', String(qlen)], o.netns);
}

export async function setUp(name: string, up: boolean, o: LinkOptions = {}): Promise<void> {
  checkName(name);
  await ip(['link', 'set', 'dev', name, up ? 'up' : 'down'], o.netns);
}

/**
 * Adds `local` to the device: point-to-point with `peer` (as pppd does: local peer
 * remote/32), or with a prefix length.
 */
export async function addAddress(name: string, local: string, opts: { peer?: string; prefix?: number } & LinkOptions = {}): Promise<void> {
  await ip(['addr', 'add', ...addrArgs(name, local, opts)], opts.netns);
}

export async function delAddress(name: string, local: string, opts: { peer?: string; prefix?: number } & LinkOptions = {}): Promise<void> {
  await ip(['addr', 'del', ...addrArgs(name, local, opts)], opts.netns);
}

function addrArgs(name: string, local: string, opts: { peer?: string; prefix?: number }): string[] {
  checkName(name);
  ipv4ToU32(local);
  const prefix = opts.prefix ?? 32;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `prefix length ${prefix} must be 0..32`);
  const a = [`${local}/${prefix}`];
  if (opts.peer !== undefined) { ipv4ToU32(opts.peer); a.push('peer', `${opts.peer}/32`); a[0] = `${local}/32`; }
  a.push('dev', name);
  return a;
}
