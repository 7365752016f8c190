/**
 * Typed wrapper over the data-plane addon (native/culvert.c, build/Release/culvert.node).
 *
 * A Channel is one fd (TUN/TAP device, UDP socket or raw IPv4 socket) read in batches:
 * the addon fills `rx` (slots of `slot` bytes, each packet at slot*i + headroom) and
 * `rxMeta` (4 words a packet: offset, length, IPv4 source, source port) and calls
 * `onBatch(count)` once. Both arrays are reused for the next batch: a handler that
 * keeps a packet must copy it. Sends take the same 4-word layout (offset, length,
 * destination address, destination port) over any buffer, so a packet can be sent
 * straight from the rx buffer after writing a header into its headroom.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { CulvertError, IoError } from '../errors.js';
import { ipv4ToU32, u32ToIpv4 } from './ipv4.js';

interface Addon {
  tunOpen(name: string, tap: boolean): [number, string];
  sockOpen(kind: number, addr: number, portOrProto: number, mark: number, dev: string, sndbuf: number): [number, number];
  chanNew(fd: number, kind: number, rx: ArrayBuffer, rxMeta: Uint32Array, slot: number, headroom: number,
    batch: number, queue: number, onBatch: (n: number) => void): object;
  chanSend(h: object, buf: Uint8Array, meta: Uint32Array, count: number): number;
  chanRead(h: object, on: boolean): void;
  chanStats(h: object, out: Float64Array): number;
  chanClose(h: object, async?: boolean): Promise<void> | undefined;
  fdClose(fd: number): void;
  tcpOpen(addr: number, mark: number, dev: string, peer: number, port: number): [number, number];
  tcpError(fd: number): number;
  nlLink(name: string, ifindex: number, mtu: number, txqlen: number, up: number): number;
  nlAddr(add: boolean, name: string, ifindex: number, local: number, prefix: number, hasPeer: boolean, peer: number): number;
  nlError(): string;
  schedBatch(on: boolean): number;
  strerror(errno: number): string;
  MAX_BATCH: number;
  STATS_COUNT: number;
}

export const enum ChannelKind { Tun = 0, Udp = 1, Raw = 2 }

/** Words per packet in rx/tx metadata arrays. */
export const META_WORDS = 4;

let addon: Addon | undefined;

/** Loads the addon once; throws IoError IO_ERR_NATIVE_MISSING with what to do when it is not built. */
export function loadNative(): Addon {
  if (addon) return addon;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const req = createRequire(import.meta.url);
  const candidates = [resolve(root, 'build', 'Release', 'culvert.node'), resolve(root, '..', 'build', 'Release', 'culvert.node')];
  let last: unknown;
  for (const p of candidates) {
    try {
      addon = req(p) as Addon;
      return addon;
    } catch (e) {
      last = e;
    }
  }
  throw new IoError(
    'IO_ERR_NATIVE_MISSING',
    'the culvert data-plane addon (build/Release/culvert.node) is not built or does not load; ' +
      'run `npm run build:native` (needs gcc, make, python3 and the Node headers)',
    { cause: last },
  );
}

// Bits of CapEff in /proc/self/status (linux/capability.h).
const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

export interface Capabilities { netAdmin: boolean; netRaw: boolean }

export function capabilities(): Capabilities {
  let eff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) eff = BigInt('0x' + m[1]);
  } catch { /* not Linux: no capabilities */ }
  return {
    netAdmin: ((eff >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n,
    netRaw: ((eff >> BigInt(CAP_NET_RAW)) & 1n) === 1n,
  };
}

/** Throws IoError IO_ERR_NO_CAPABILITY naming the missing capability. */
export function requireCapability(what: 'netAdmin' | 'netRaw', forWhat: string): void {
  if (!capabilities()[what]) {
    const cap = what === 'netAdmin' ? 'CAP_NET_ADMIN' : 'CAP_NET_RAW';
    throw new IoError('IO_ERR_NO_CAPABILITY', `${forWhat} needs ${cap}: run as root or grant it (setcap cap_net_admin,cap_net_raw+ep)`);
  }
}

/** Scheduling policy of a thread that runs channels (see dataPlaneScheduling). */
export type SchedPolicy = 'batch' | 'normal';
let schedApplied: SchedPolicy | undefined;

/**
 * The policy the data plane asks for, from CULVERT_SCHED: `batch` (the default) or `normal`.
 * SCHED_BATCH keeps the thread's nice value and fair share; only its wake-ups stop
 * preempting the running task, so a burst is handled as one batch instead of one context
 * switch per packet when the engine shares a CPU with the traffic's source or sink (on a
 * busy 2-core box: 64-byte GRE forwarding went from 110-117k to 167-197k pkt/s). The price is
 * latency under CPU contention only: a woken engine waits for the running task's slice
 * (milliseconds at most) instead of taking the CPU at once. An idle CPU runs it at once.
 * `normal` leaves the thread's policy as the process was started with (chrt included).
 */
export function wantedScheduling(env: NodeJS.ProcessEnv = process.env): SchedPolicy {
  const v = (env.CULVERT_SCHED ?? 'batch').trim().toLowerCase();
  if (v === 'batch' || v === 'normal') return v;
  throw new IoError('IO_ERR_BAD_CONFIG', `CULVERT_SCHED=${env.CULVERT_SCHED}: accepted values are batch, normal`);
}

/**
 * Applies the wanted policy to the calling thread, once per thread (each worker thread has
 * its own module instance). Called when the thread opens its first channel. Returns the
 * policy in force; a refusal (seccomp, an RT policy set from outside) leaves it as it was.
 */
export function dataPlaneScheduling(): SchedPolicy {
  if (schedApplied) return schedApplied;
  const want = wantedScheduling();
  schedApplied = 'normal';
  if (want === 'batch' && loadNative().schedBatch(true) === 0) schedApplied = 'batch';
  return schedApplied;
}

/** Re-throws an addon error as IoError with its code kept. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (e instanceof CulvertError) throw e;
    throw new IoError(typeof err.code === 'string' ? err.code : 'IO_ERR_SYSCALL', err.message ?? String(e), { cause: e });
  }
}

export interface ChannelOptions {
  /** Packets per wake-up, 1..64 (default 64). */
  batch?: number;
  /** Bytes per rx slot including headroom (default 2048). */
  slot?: number;
  /** Free bytes before each received packet for headers written in place (default 64). */
  headroom?: number;
  /** Packets the send queue holds when the kernel pushes back; more are dropped and counted (default 256). */
  queue?: number;
}

export interface ChannelStats {
  rxPackets: number; rxBytes: number; rxTruncated: number; rxErrors: number;
  txPackets: number; txBytes: number; txDropped: number; txErrors: number; txQueued: number;
  queueLength: number; wakeups: number;
  /** UDP: sendmmsg entries that carried several datagrams with UDP_SEGMENT (GSO). */
  txGsoBatches: number;
  /** UDP: received datagrams the kernel had coalesced (UDP_GRO), cut back into packets here. */
  rxGroBatches: number;
  /** TUN: TCP super-packets (TSO offload) read, each cut into MSS-sized segments here. */
  rxTsoPackets: number;
  down: boolean;
}

export class Channel {
  readonly rx: Uint8Array;
  readonly rxMeta: Uint32Array;
  readonly slot: number;
  readonly headroom: number;
  readonly batch: number;
  /** Called once per batch with the number of packets in rx/rxMeta. */
  onBatch: (count: number) => void = () => {};
  /** Called once when the fd failed for good (errno), e.g. its TUN device was deleted. */
  onDown: (errno: number) => void = () => {};
  private handle: object | undefined;
  private readonly one = new Uint32Array(META_WORDS);
  private readonly statBuf: Float64Array;
  private readonly n: Addon;
  private down = false;

  protected constructor(fd: number, kind: ChannelKind, opts: ChannelOptions = {}) {
    const n = loadNative();
    this.n = n;
    try {
      dataPlaneScheduling();
    } catch (e) {
      n.fdClose(fd);
      throw e;
    }
    this.batch = opts.batch ?? 64;
    this.slot = opts.slot ?? 2048;
    this.headroom = opts.headroom ?? 64;
    const ab = new ArrayBuffer(this.slot * this.batch);
    this.rx = new Uint8Array(ab);
    this.rxMeta = new Uint32Array(this.batch * META_WORDS);
    this.statBuf = new Float64Array(n.STATS_COUNT);
    try {
      this.handle = wrap(() => n.chanNew(fd, kind, ab, this.rxMeta, this.slot, this.headroom, this.batch,
        opts.queue ?? 256, (c: number) => {
          if (c >= 0) this.onBatch(c);
          else {
            this.down = true;
            this.onDown(-c);
          }
        }));
    } catch (e) {
      n.fdClose(fd);
      throw e;
    }
  }

  get isOpen(): boolean { return this.handle !== undefined; }
  get isDown(): boolean { return this.down; }

  /** Sends `count` packets described by `meta` (offset, length, addr, port) out of `buf`. Returns how many were taken. */
  send(buf: Uint8Array, meta: Uint32Array, count: number): number {
    if (!this.handle || count === 0) return 0;
    return this.n.chanSend(this.handle, buf, meta, count);
  }

  /** Sends one packet; `addr`/`port` are ignored for TUN. */
  sendOne(buf: Uint8Array, off: number, len: number, addr = 0, port = 0): number {
    const m = this.one;
    m[0] = off; m[1] = len; m[2] = addr; m[3] = port;
    return this.send(buf, m, 1);
  }

  pause(): void { if (this.handle) this.n.chanRead(this.handle, false); }
  resume(): void { if (this.handle) this.n.chanRead(this.handle, true); }

  stats(): ChannelStats {
    const s = this.statBuf;
    let down = this.down;
    if (this.handle) down = this.n.chanStats(this.handle, s) === 1 || down;
    return {
      rxPackets: s[0], rxBytes: s[1], rxTruncated: s[2], rxErrors: s[3], txPackets: s[4], txBytes: s[5],
      txDropped: s[6], txErrors: s[7], txQueued: s[8], queueLength: s[9], wakeups: s[10], txGsoBatches: s[11], rxGroBatches: s[12], rxTsoPackets: s[13], down,
    };
  }

  /**
   * Stops reading and closes the fd. A TUN/TAP's fd is closed on a worker thread: the
   * kernel sleeps ~20 ms per deleted device (RCU), which would stall the event loop when
   * many interfaces go down at once. whenClosed() tells when the device is gone; opening
   * the same name again meanwhile is fine (the addon finishes the old close first).
   */
  close(): void {
    if (!this.handle) return;
    this.stats();
    const p = this.n.chanClose(this.handle, this.closeOffThread);
    this.handle = undefined;
    if (p) this.closedP = p;
  }

  /** After close(): resolves once the fd is closed (for a TUN/TAP: the device is deleted). Never rejects. */
  whenClosed(): Promise<void> {
    return this.closedP;
  }

  /** TUN/TAP: close the fd on the threadpool (see close()). */
  protected closeOffThread = false;
  private closedP: Promise<void> = Promise.resolve();
}

export interface TunOptions extends ChannelOptions {
  /** TAP (Ethernet frames, for BCP bridging) instead of TUN (IP packets). */
  tap?: boolean;
}

/** A TUN/TAP device, non-blocking, IFF_NO_PI: each read/write is one bare packet (or frame). Deleted when closed. */
export class TunDevice extends Channel {
  readonly name: string;
  readonly tap: boolean;

  private constructor(fd: number, name: string, tap: boolean, opts: ChannelOptions) {
    super(fd, ChannelKind.Tun, opts);
    this.name = name;
    this.tap = tap;
    this.closeOffThread = true;
  }

  /** `name` may hold `%d` (kernel picks the number). Needs CAP_NET_ADMIN. */
  static open(name: string, opts: TunOptions = {}): TunDevice {
    if (!/^[A-Za-z0-9_.%<>-]{1,15}$/.test(name)) {
      throw new IoError('IO_ERR_BAD_ARG', `interface name "${name}" must be 1-15 characters of A-Z a-z 0-9 _ . - %`);
    }
    const n = loadNative();
    const [fd, actual] = wrap(() => n.tunOpen(name, opts.tap ?? false));
    return new TunDevice(fd, actual, opts.tap ?? false, opts);
  }
}

export interface SocketOptions extends ChannelOptions {
  /** Local IPv4 address to bind (default 0.0.0.0). */
  address?: string;
  /** SO_MARK for policy routing (pptp(8) --rtmark). Needs CAP_NET_ADMIN. */
  mark?: number;
  /** SO_BINDTODEVICE. */
  device?: string;
  /** SO_SNDBUF in bytes (default 4 MiB). */
  sendBuffer?: number;
}

/** A UDP socket serving L2TP control and data on one port. rxMeta carries each datagram's source address/port. */
export class UdpSocket extends Channel {
  readonly address: string;
  readonly port: number;

  private constructor(fd: number, address: string, port: number, opts: ChannelOptions) {
    super(fd, ChannelKind.Udp, opts);
    this.address = address;
    this.port = port;
  }

  static open(port: number, opts: SocketOptions = {}): UdpSocket {
    const n = loadNative();
    const address = opts.address ?? '0.0.0.0';
    const [fd, bound] = wrap(() => n.sockOpen(ChannelKind.Udp, ipv4ToU32(address), port, opts.mark ?? 0,
      opts.device ?? '', opts.sendBuffer ?? 0));
    return new UdpSocket(fd, address, bound, opts);
  }

  /** Sends one datagram to `host:port` (control messages; copies nothing, sends now or queues). */
  sendTo(buf: Uint8Array, host: string, port: number, off = 0, len = buf.length - off): number {
    return this.sendOne(buf, off, len, ipv4ToU32(host), port);
  }
}

/**
 * A raw IPv4 socket for one IP protocol (47 = GRE). Received packets start with the
 * IPv4 header (skip (b[0] & 15) * 4 bytes); sent packets get their IPv4 header from
 * the kernel (no IP_HDRINCL). Needs CAP_NET_RAW.
 */
export class RawSocket extends Channel {
  readonly address: string;
  readonly protocol: number;

  private constructor(fd: number, address: string, protocol: number, opts: ChannelOptions) {
    super(fd, ChannelKind.Raw, opts);
    this.address = address;
    this.protocol = protocol;
  }

  static open(protocol = 47, opts: SocketOptions = {}): RawSocket {
    const n = loadNative();
    const address = opts.address ?? '0.0.0.0';
    const [fd] = wrap(() => n.sockOpen(ChannelKind.Raw, ipv4ToU32(address), protocol, opts.mark ?? 0,
      opts.device ?? '', opts.sendBuffer ?? 0));
    return new RawSocket(fd, address, protocol, opts);
  }
}

// ---- TCP sockets that Node cannot make ---------------------------------------------------

export interface TcpDialOptions {
  /** Local IPv4 address to bind before connecting (default any). */
  address?: string;
  /** SO_MARK, set before the SYN leaves (pptp(8) --rtmark). Needs CAP_NET_ADMIN. */
  mark?: number;
  /** SO_BINDTODEVICE. */
  device?: string;
}

/**
 * A TCP connection that is being made: a non-blocking socket with SO_MARK and/or
 * SO_BINDTODEVICE set before connect() (Node's net.connect() applies socket options only
 * after the SYN). Poll `result()` until it is not undefined, then hand `fd` to
 * `new net.Socket({ fd })`: Node then owns it (reads, writes, and destroy() closes it).
 * Until then `close()` gives it back.
 */
export class TcpDial {
  private open = true;

  private constructor(readonly fd: number, private readonly n: Addon) {}

  /** Starts connecting to host:port. Throws IoError (IO_ERR_NO_CAPABILITY for a mark without CAP_NET_ADMIN, IO_ERR_SYSCALL...). */
  static start(host: string, port: number, opts: TcpDialOptions = {}): TcpDial {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new IoError('IO_ERR_BAD_ARG', `TCP port ${port} must be 1..65535`);
    const mark = opts.mark ?? 0;
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new IoError('IO_ERR_BAD_ARG', `mark ${mark} must be 0..4294967295`);
    const n = loadNative();
    const [fd] = wrap(() => n.tcpOpen(ipv4ToU32(opts.address ?? '0.0.0.0'), mark, opts.device ?? '', ipv4ToU32(host), port));
    return new TcpDial(fd, n);
  }

  /**
   * undefined while the connect is in progress; then 0 (connected) or the errno that
   * failed it, e.g. ECONNREFUSED (the fd is then closed here).
   */
  result(): number | undefined {
    if (!this.open) throw new IoError('IO_ERR_CLOSED', 'TCP dial already closed or handed over');
    const e = wrap(() => this.n.tcpError(this.fd));
    if (e < 0) return undefined;
    if (e !== 0) this.close();
    return e;
  }

  /** The connection is established: the caller wraps `fd` and owns it from now on. */
  handOver(): number {
    if (!this.open) throw new IoError('IO_ERR_CLOSED', 'TCP dial already closed or handed over');
    this.open = false;
    return this.fd;
  }

  /** Give the socket back (time-out, hang-up while dialing). Idempotent. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.n.fdClose(this.fd);
  }
}

// ---- link and address settings over rtnetlink (no `ip` process) ----------------------------

/** A device by name or by ifindex. */
export type LinkRef = string | number;

/** What Linux accepts as a device name (dev_valid_name), narrowed to the characters culvert makes. */
const LINK_NAME = /^[A-Za-z0-9_.<>-]{1,15}$/;

function checkRef(dev: LinkRef): void {
  if (typeof dev === 'number') {
    if (!Number.isInteger(dev) || dev < 1 || dev > 0x7fffffff) throw new IoError('IO_ERR_BAD_ARG', `ifindex ${dev} must be 1..2147483647`);
  } else if (!LINK_NAME.test(dev) || dev === '.' || dev === '..') {
    throw new IoError('IO_ERR_BAD_ARG', `interface name "${dev}" must be 1-15 characters of A-Z a-z 0-9 _ . - < >`);
  }
}

function linkError(n: Addon, dev: LinkRef, what: string, rc: number): IoError {
  const errno = -rc;
  const name = getSystemErrorName(rc);
  const text = n.strerror(errno);
  const kernel = n.nlError();
  const who = typeof dev === 'number' ? `ifindex ${dev}` : dev;
  let msg = `interface ${who}: ${what}: ${text} (${name})${kernel && kernel !== text ? `: ${kernel}` : ''}`;
  const cause = Object.assign(new Error(text), { errno, code: name });
  if (errno === osConstants.errno.EPERM || errno === osConstants.errno.EACCES) {
    msg += '; needs CAP_NET_ADMIN: run as root or grant it (setcap cap_net_admin+ep)';
    return new IoError('IO_ERR_NO_CAPABILITY', msg, { cause });
  }
  return new IoError('IO_ERR_LINK', msg, { cause });
}

/** Changes to a device's link; what is left out stays as it is. */
export interface LinkChange {
  /** 68..65535 (RFC 791 minimum; the device may allow less). */
  mtu?: number;
  /** Packets the kernel queues for the device, 0..1000000. */
  txQueueLen?: number;
  up?: boolean;
}

/**
 * Sets MTU, txqueuelen and/or up/down in one RTM_SETLINK request (rtnetlink(7)), as
 * `ip link set` does, without running it. Throws IoError: IO_ERR_LINK (no such device,
 * refused value; the message names the device and the errno text) or
 * IO_ERR_NO_CAPABILITY (CAP_NET_ADMIN missing).
 */
export function setLink(dev: LinkRef, change: LinkChange): void {
  checkRef(dev);
  const { mtu, txQueueLen, up } = change;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) throw new IoError('IO_ERR_BAD_ARG', `MTU ${mtu} must be 68..65535`);
  if (txQueueLen !== undefined && (!Number.isInteger(txQueueLen) || txQueueLen < 0 || txQueueLen > 1_000_000)) {
    throw new IoError('IO_ERR_BAD_ARG', `txqueuelen ${txQueueLen} must be 0..1000000`);
  }
  if (up !== undefined && typeof up !== 'boolean') throw new IoError('IO_ERR_BAD_ARG', 'up must be true or false');
  const n = loadNative();
  const rc = n.nlLink(typeof dev === 'string' ? dev : '', typeof dev === 'number' ? dev : 0, mtu ?? -1, txQueueLen ?? -1,
    up === undefined ? -1 : up ? 1 : 0);
  if (rc < 0) {
    const what = [mtu !== undefined && `mtu ${mtu}`, txQueueLen !== undefined && `txqueuelen ${txQueueLen}`,
      up !== undefined && (up ? 'up' : 'down')].filter(Boolean).join(' ');
    throw linkError(n, dev, `set ${what || 'link'}`, rc);
  }
}

export interface AddressSpec {
  /** The far end of a point-to-point link: the address is then local/32 peer peer/32. */
  peer?: string;
  /** Prefix length 0..32 (default 32); must be 32 (or left out) with a peer. */
  prefix?: number;
}

/**
 * Adds (`add`) or removes (`del`) IPv4 address `local` on a device, as
 * `ip addr add|del L/P dev X` or, with a peer, `ip addr add L/32 peer P/32 dev X`
 * (IFA_LOCAL = L, IFA_ADDRESS = P; `ip addr show` prints `inet L peer P/32`). Adding an
 * address that is there fails (EEXIST), as with `ip`. Throws IoError like setLink.
 */
export function changeAddress(op: 'add' | 'del', dev: LinkRef, local: string, spec: AddressSpec = {}): void {
  if (op !== 'add' && op !== 'del') throw new IoError('IO_ERR_BAD_ARG', `address operation "${String(op)}" must be add or del`);
  checkRef(dev);
  const l = wrapAddr(local);
  const prefix = spec.prefix ?? 32;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new IoError('IO_ERR_BAD_ARG', `prefix length ${prefix} must be 0..32`);
  const hasPeer = spec.peer !== undefined;
  const p = hasPeer ? wrapAddr(spec.peer!) : 0;
  if (hasPeer && prefix !== 32) throw new IoError('IO_ERR_BAD_ARG', `a point-to-point address (peer ${spec.peer}) has prefix length 32, not ${prefix}`);
  const n = loadNative();
  const rc = n.nlAddr(op === 'add', typeof dev === 'string' ? dev : '', typeof dev === 'number' ? dev : 0, l, prefix, hasPeer, p);
  if (rc < 0) throw linkError(n, dev, `${op} address ${local}${hasPeer ? ` peer ${spec.peer}` : `/${prefix}`}`, rc);
}

function wrapAddr(s: string): number {
  try {
    return ipv4ToU32(s);
  } catch (e) {
    throw new IoError('IO_ERR_BAD_ARG', `"${String(s)}" is not an IPv4 address (a.b.c.d)`, { cause: e });
  }
}

export { ipv4ToU32, u32ToIpv4 };
