/**
 * In-memory wiring for the PPTP protocol tests (not a test file itself): TCP pipes and a
 * GRE "network" on one FakeClock, with a shared, ordered log of everything on the wire
 * (control messages by name, LCP packets inside GRE, TCP closes).
 */
import { FakeClock } from '../../../src/protocol/clock.js';
import { decode, gre, PPTP_CONTROL_TYPE_NAMES, type PptpControlMessage } from '../../../src/codec/pptp/index.js';
import { PptpControlConnection, type PptpControlOptions } from '../../../src/protocol/pptp/control.js';
import { PptpClientCall, type PptpClientOptions } from '../../../src/protocol/pptp/client.js';
import { PptpServer, type PptpServerConnection, type PptpServerOptions, type PptpServerCall } from '../../../src/protocol/pptp/server.js';
import type { CallStatusEvent } from '../../../src/protocol/pptp/call.js';
import { LocalVerifier } from '../../../src/protocol/ppp/auth/index.js';

export const USER = 'alice';
export const PASSWORD = 'pptp-Pa55word';

/** mulberry32. */
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

export interface Wire {
  from: string;
  to: string;
  /** 'SCCRQ', 'Call-Clear-Request', 'LCP TermReq', 'close', ... */
  what: string;
  msg?: PptpControlMessage;
  t: number;
}

const LCP_NAMES: Record<number, string> = { 1: 'ConfReq', 2: 'ConfAck', 3: 'ConfNak', 4: 'ConfRej', 5: 'TermReq', 6: 'TermAck', 9: 'EchoReq', 10: 'EchoRep' };

/** Name a GRE packet for the log: 'LCP TermReq', 'data', 'ack'. */
export function greName(b: Uint8Array, o: number, l: number): string {
  const p = gre.decode(b, o, l);
  if (!p.hasSequence) return 'GRE ack';
  let i = 0;
  const f = p.payload;
  if (f[0] === 0xff && f[1] === 0x03) i = 2;
  const proto = (f[i] << 8) | f[i + 1];
  if (proto === 0xc021) return `LCP ${LCP_NAMES[f[i + 2]] ?? f[i + 2]}`;
  return `PPP 0x${proto.toString(16)}`;
}

/** Scheduled delivery queue: FIFO at equal times, delivered while the clock advances. */
export class Net {
  readonly clock = new FakeClock();
  readonly log: Wire[] = [];
  private q: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  schedule(delay: number, fn: () => void): void {
    this.q.push({ at: this.clock.now() + delay, seq: this.seq++, fn });
  }

  note(from: string, to: string, what: string, msg?: PptpControlMessage): void {
    this.log.push({ from, to, what, msg, t: this.clock.now() });
  }

  /** Deliver everything due now (and what that causes). */
  pump(): void {
    for (let guard = 0; ; guard++) {
      if (guard > 200_000) throw new Error('net: storm');
      let best = -1;
      const now = this.clock.now();
      for (let i = 0; i < this.q.length; i++) {
        const e = this.q[i];
        if (e.at > now) continue;
        if (best < 0 || e.at < this.q[best].at || (e.at === this.q[best].at && e.seq < this.q[best].seq)) best = i;
      }
      if (best < 0) return;
      const [e] = this.q.splice(best, 1);
      e.fn();
    }
  }

  run(ms: number, step = 10): void {
    const end = this.clock.now() + ms;
    this.pump();
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(step, end - this.clock.now()));
      this.pump();
    }
  }

  runUntil(pred: () => boolean, maxMs: number, step = 10): boolean {
    const end = this.clock.now() + maxMs;
    this.pump();
    while (!pred() && this.clock.now() < end) {
      this.clock.advance(step);
      this.pump();
    }
    return pred();
  }

  /** The log restricted to `names`, as 'from>to what' strings. */
  trace(names: readonly string[]): string[] {
    return this.log.filter((w) => names.includes(w.what)).map((w) => `${w.from}>${w.to} ${w.what}`);
  }
}

/** A TCP connection between two endpoints; each side gets `write`, `close` and a receiver. */
export class TcpPipe {
  closed = { a: false, b: false };
  constructor(
    readonly net: Net,
    readonly a: string,
    readonly b: string,
  ) {}
  recvA: (chunk: Uint8Array) => void = () => {};
  recvB: (chunk: Uint8Array) => void = () => {};
  closedA: () => void = () => {};
  closedB: () => void = () => {};

  /** Bytes from side `from` ('a' or 'b'); logged as control messages. */
  write(from: 'a' | 'b', bytes: Uint8Array): void {
    if (this.closed[from]) return;
    const [f, t] = from === 'a' ? [this.a, this.b] : [this.b, this.a];
    let msg: PptpControlMessage | undefined;
    try {
      msg = decode(bytes);
    } catch {
      msg = undefined;
    }
    this.net.note(f, t, msg ? PPTP_CONTROL_TYPE_NAMES[msg.type] : 'raw', msg);
    const copy = bytes.slice();
    this.net.schedule(0, () => {
      if (from === 'a' ? this.closed.b : this.closed.a) return;
      (from === 'a' ? this.recvB : this.recvA)(copy);
    });
  }

  /** Side `from` closes: the other side sees the close after the bytes already in flight. */
  close(from: 'a' | 'b'): void {
    if (this.closed[from]) return;
    this.closed[from] = true;
    const [f, t] = from === 'a' ? [this.a, this.b] : [this.b, this.a];
    this.net.note(f, t, 'close');
    this.net.schedule(0, () => {
      const other = from === 'a' ? 'b' : 'a';
      if (this.closed[other]) return;
      this.closed[other] = true;
      (from === 'a' ? this.closedB : this.closedA)();
    });
  }
}

/** Two bare control connections (client 'c', server 's') joined by a pipe. */
export function controlPair(c: Partial<PptpControlOptions> = {}, s: Partial<PptpControlOptions> = {}) {
  const net = new Net();
  const pipe = new TcpPipe(net, 'c', 's');
  const closes: Record<string, string> = {};
  const client = new PptpControlConnection({
    role: 'client',
    clock: net.clock,
    onWrite: (b) => pipe.write('a', b),
    onClose: (r) => {
      closes.c = r;
      pipe.close('a');
    },
    ...c,
  });
  const server = new PptpControlConnection({
    role: 'server',
    clock: net.clock,
    onWrite: (b) => pipe.write('b', b),
    onClose: (r) => {
      closes.s = r;
      pipe.close('b');
    },
    ...s,
  });
  pipe.recvA = (b) => client.receive(b);
  pipe.recvB = (b) => server.receive(b);
  pipe.closedA = () => client.tcpClosed();
  pipe.closedB = () => server.tcpClosed();
  return { net, pipe, client, server, closes };
}

export interface ClientEnd {
  call: PptpClientCall;
  pipe: TcpPipe;
  name: string;
  address: number;
  statuses: CallStatusEvent[];
  ip: Uint8Array[];
  tcpClose?: string;
}

export interface World {
  net: Net;
  server: PptpServer;
  serverConns: PptpServerConnection[];
  serverCallStatus: { call: PptpServerCall; e: CallStatusEvent }[];
  serverIp: { call: PptpServerCall; ip: Uint8Array }[];
  clients: ClientEnd[];
  /** Return true to drop a GRE packet; return a number (ms) to delay it. */
  greFilter: (from: string, b: Uint8Array, o: number, l: number) => boolean | number;
  addClient(name: string, address: number, o?: Partial<PptpClientOptions>): ClientEnd;
}

/**
 * A PptpServer and any number of PptpClientCalls. GRE from clients goes to
 * server.receiveGre(clientAddress); GRE from the server goes to the client whose
 * address and Call ID match the packet (a NAT would do the same by Call ID).
 */
export function world(so: Partial<PptpServerOptions> = {}): World {
  const net = new Net();
  let next = 2;
  const w: World = {
    net,
    server: undefined as unknown as PptpServer,
    serverConns: [],
    serverCallStatus: [],
    serverIp: [],
    clients: [],
    greFilter: () => false,
    addClient(name, address, o = {}) {
      const pipe = new TcpPipe(net, name, 'server');
      const end: ClientEnd = { call: undefined as unknown as PptpClientCall, pipe, name, address, statuses: [], ip: [] };
      end.call = new PptpClientCall({
        clock: net.clock,
        ppp: { user: USER, password: PASSWORD, useEncryption: 'yes', random: prng(address + next++) },
        hostName: name,
        onTcpWrite: (b) => pipe.write('a', b),
        onTcpClose: (r) => {
          end.tcpClose = r;
          pipe.close('a');
        },
        onGreWrite: (b, off, l) => greSend(name, 'server', b, off, l, (p) => w.server.receiveGre(address, p, 0, p.length)),
        onIp: (b, off, l) => end.ip.push(b.slice(off, off + l)),
        onStatus: (e) => end.statuses.push(e),
        ...o,
      });
      const conn = w.server.accept({
        peerAddress: address,
        onWrite: (b) => pipe.write('b', b),
        onClose: () => pipe.close('b'),
      });
      w.serverConns.push(conn);
      pipe.recvA = (b) => end.call.receiveTcp(b);
      pipe.recvB = (b) => conn.receive(b);
      pipe.closedA = () => end.call.tcpClosed();
      pipe.closedB = () => conn.tcpClosed();
      w.clients.push(end);
      return end;
    },
  };
  function greSend(from: string, to: string, b: Uint8Array, o: number, l: number, deliver: (p: Uint8Array) => void): boolean {
    const name = greName(b, o, l);
    const f = w.greFilter(from, b, o, l);
    if (f === true) {
      net.note(from, '(dropped)', name);
      return true;
    }
    const pkt = b.slice(o, o + l);
    net.note(from, to, name);
    net.schedule(typeof f === 'number' ? f : 0, () => deliver(pkt));
    return true;
  }
  w.server = new PptpServer({
    clock: net.clock,
    hostName: 'culvert-server',
    ppp: (ctx) => ({
      verifier: new LocalVerifier((u) => (u === USER ? { password: PASSWORD } : undefined)),
      localAddress: '198.18.5.1',
      remoteAddress: `198.18.5.${10 + (ctx.callId % 200)}`,
      useEncryption: 'yes',
      random: prng(ctx.callId),
    }),
    onGreWrite: (peer, b, o, l) => {
      const callId = (b[o + 6] << 8) | b[o + 7];
      const c = w.clients.find((x) => x.address === peer && x.call.callId === callId);
      return greSend('server', c?.name ?? '?', b, o, l, (p) => c?.call.receiveGre(p, 0, p.length));
    },
    onIp: (call, b, o, l) => w.serverIp.push({ call, ip: b.slice(o, o + l) }),
    onCallStatus: (call, e) => w.serverCallStatus.push({ call, e }),
    ...so,
  });
  return w;
}

/** A minimal IPv4 packet of `len` octets with a recognisable body. */
export function ipPacket(len: number, tag: number): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[9] = 17;
  for (let i = 20; i < len; i++) p[i] = (i * 7 + tag) & 0xff;
  return p;
}
