/**
 * Two Links joined by an in-memory wire on one FakeClock: frames are queued and delivered
 * in order between clock steps, optionally dropped by a seeded PRNG.
 */
import { FakeClock } from '../../../src/protocol/clock.js';
import { Link, type LinkConfig, type LinkInfo, type Phase } from '../../../src/protocol/ppp/link.js';
import { LocalVerifier } from '../../../src/protocol/ppp/auth/index.js';
import * as frame from '../../../src/codec/ppp/frame.js';

export const USER = 'alice';
export const PASSWORD = 's3cret-Pa55';

/** mulberry32: small deterministic PRNG for loss and Magic-Numbers. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export interface Side {
  link: Link;
  up?: LinkInfo;
  upAt?: number;
  down?: string;
  downAt?: number;
  phases: Phase[];
  data: Uint8Array[];
  /** Every frame this side put on the wire, with the time. */
  sent: { t: number; f: Uint8Array }[];
  /** Time a frame from the peer was last delivered to this side. */
  lastDelivered: number;
  log: string[];
}

type Partial2 = Omit<Partial<LinkConfig>, 'role' | 'clock' | 'onFrame'>;

export interface Pair {
  clock: FakeClock;
  client: Side;
  server: Side;
  /** Return true to drop a frame (direction given). */
  drop: (from: 'client' | 'server', f: Uint8Array) => boolean;
  pump(): void;
  run(ms: number, step?: number): void;
  runUntil(pred: () => boolean, maxMs: number, step?: number): boolean;
  start(): void;
}

export function makePair(clientCfg: Partial2 = {}, serverCfg: Partial2 = {}, seed = 1): Pair {
  const clock = new FakeClock();
  const rnd = prng(seed);
  const queue: { to: 'client' | 'server'; f: Uint8Array }[] = [];
  const mk = (role: 'client' | 'server'): Side => ({ link: undefined as unknown as Link, phases: [], data: [], sent: [], lastDelivered: 0, log: [] });
  const client = mk('client');
  const server = mk('server');
  const pair: Pair = {
    clock,
    client,
    server,
    drop: () => false,
    pump() {
      for (let guard = 0; queue.length > 0; guard++) {
        if (guard > 100_000) throw new Error('wire: frame storm');
        const { to, f } = queue.shift()!;
        if (pair.drop(to === 'server' ? 'client' : 'server', f)) continue;
        const side = to === 'server' ? server : client;
        side.lastDelivered = clock.now();
        side.link.receiveFrame(f, 0, f.length);
      }
    },
    run(ms, step = 10) {
      const end = clock.now() + ms;
      pair.pump();
      while (clock.now() < end) {
        clock.advance(Math.min(step, end - clock.now()));
        pair.pump();
      }
    },
    runUntil(pred, maxMs, step = 10) {
      const end = clock.now() + maxMs;
      pair.pump();
      while (!pred() && clock.now() < end) {
        clock.advance(step);
        pair.pump();
      }
      return pred();
    },
    start() {
      client.link.start();
      server.link.start();
      pair.pump();
    },
  };
  const wire = (side: Side, to: 'client' | 'server') => (f: Uint8Array) => {
    const copy = f.slice();
    side.sent.push({ t: clock.now(), f: copy });
    queue.push({ to, f: copy });
  };
  const common = (side: Side): Partial<LinkConfig> => ({
    clock,
    random: rnd,
    onData: (b, o, l) => side.data.push(b.slice(o, o + l)),
    onPhase: (p) => side.phases.push(p),
    onUp: (info) => {
      side.up = info;
      side.upAt = clock.now();
    },
    onDown: (r) => {
      side.down = r;
      side.downAt = clock.now();
    },
    log: (l) => side.log.push(`${clock.now()} ${l}`),
  });
  client.link = new Link({
    ...common(client),
    role: 'client',
    user: USER,
    password: PASSWORD,
    ...clientCfg,
    onFrame: wire(client, 'server'),
  } as LinkConfig);
  server.link = new Link({
    ...common(server),
    role: 'server',
    verifier: new LocalVerifier((u) => (u === USER ? { password: PASSWORD } : undefined)),
    localAddress: '198.18.5.1',
    remoteAddress: '198.18.5.2',
    ...serverCfg,
    onFrame: wire(server, 'client'),
  } as LinkConfig);
  return pair;
}

/** A minimal IPv4/ICMP-looking packet of `len` octets with a recognisable body. */
export function ipPacket(len: number, tag: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[9] = 1;
  for (let i = 20; i < len; i++) p[i] = (i * 7 + tag) & 0xff;
  return p;
}

export function protocolOf(f: Uint8Array): number {
  return frame.decode(f).protocol;
}
