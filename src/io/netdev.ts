/**
 * Link settings of a TUN/TAP device: MTU, txqueuelen, up/down, IPv4 addresses.
 *
 * In the host's own namespace (no `netns` option, i.e. the daemon) each call is one
 * rtnetlink request through the addon (native.ts setLink/changeAddress): no process is
 * spawned. Forking `ip` four times per PPP interface cost ~20 ms of main-thread CPU per
 * session and lost sessions when 1,000 calls came at once (issue #6). With `netns`
 * (tests only) it runs `ip -n NS` with an argv array (execFile, no shell). Either way
 * every value is validated first, so nothing a user typed can become an option or a
 * second command. Routes (routes.ts) still use `ip`: only configured routes need them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, IoError } from '../errors.js';
import { ipv4ToU32 } from './ipv4.js';
import { changeAddress, setLink, type LinkChange } from './native.js';

const run = promisify(execFile);
const IFNAME = /^[A-Za-z0-9_.:<>-]{1,15}$/;

function checkName(name: string): void {
  if (typeof name !== 'string' || !IFNAME.test(name)) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `interface "${name}" is not a valid interface name`);
}

function checkAddr(a: string): void {
  if (typeof a !== 'string') throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `${String(a)} is not an IPv4 address (a.b.c.d)`);
  ipv4ToU32(a);
}

async function ip(args: string[], netns: string): Promise<void> {
  try {
    await run('ip', ['-n', netns, ...args]);
  } catch (e) {
    const msg = ((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    throw new IoError(/Operation not permitted/.test(msg) ? 'IO_ERR_NO_CAPABILITY' : 'IO_ERR_LINK', `ip ${args.join(' ')}: ${msg}`, { cause: e });
  }
}

/** One link change: `ip -n` in a namespace, else rtnetlink (synchronous, microseconds). */
async function link(name: string, change: LinkChange, ipArgs: string[], netns: string | undefined): Promise<void> {
  if (netns) return ip(['link', 'set', 'dev', name, ...ipArgs], netns);
  setLink(name, change);
}

export interface LinkOptions { netns?: string }

/** MTU 68..65535 (RFC 791 minimum; RouterOS max-mtu). */
export async function setMtu(name: string, mtu: number, o: LinkOptions = {}): Promise<void> {
  checkName(name);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `MTU ${mtu} must be 68..65535`);
  await link(name, { mtu }, ['mtu', String(mtu)], o.netns);
}

/**
 * Packets the kernel may queue for the device before dropping (default 500 for TUN).
 * A userspace forwarder is not always scheduled the moment a burst arrives; a longer
 * queue absorbs the burst (OpenVPN uses 1000 for its TUN).
 */
export async function setTxQueueLen(name: string, qlen: number, o: LinkOptions = {}): Promise<void> {
  checkName(name);
  if (!Number.isInteger(qlen) || qlen < 0 || qlen > 1_000_000) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `txqueuelen ${qlen} must be 0..1000000`);
  await link(name, { txQueueLen: qlen }, ['txqueuelen', String(qlen)], o.netns);
}

export async function setUp(name: string, up: boolean, o: LinkOptions = {}): Promise<void> {
  checkName(name);
  if (typeof up !== 'boolean') throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `up must be true or false, not ${String(up)}`);
  await link(name, { up }, [up ? 'up' : 'down'], o.netns);
}

type AddrOptions = { peer?: string; prefix?: number } & LinkOptions;

/**
 * Adds `local` to the device: point-to-point with `peer` (as pppd does: local peer
 * remote/32; a peer makes the prefix 32), or with a prefix length.
 */
export async function addAddress(name: string, local: string, opts: AddrOptions = {}): Promise<void> {
  await address('add', name, local, opts);
}

export async function delAddress(name: string, local: string, opts: AddrOptions = {}): Promise<void> {
  await address('del', name, local, opts);
}

async function address(op: 'add' | 'del', name: string, local: string, opts: AddrOptions): Promise<void> {
  checkName(name);
  checkAddr(local);
  const prefix = opts.prefix ?? 32;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `prefix length ${prefix} must be 0..32`);
  if (opts.peer !== undefined) checkAddr(opts.peer);
  if (!opts.netns) {
    changeAddress(op, name, local, opts.peer !== undefined ? { peer: opts.peer } : { prefix });
    return;
  }
  const a = opts.peer !== undefined ? [`${local}/32`, 'peer', `${opts.peer}/32`] : [`${local}/${prefix}`];
  await ip(['addr', op, ...a, 'dev', name], opts.netns);
}
