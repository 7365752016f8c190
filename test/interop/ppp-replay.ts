/**
 * Replays one side of a real pppd session (test/fixtures/ppp/*.json) against our PPP
 * engine's sans-I/O Link, and judges every answer.
 *
 * We take the place of one pppd ("the replaced side"): as server we are fed the pppd
 * client's frames, as client the pppd server's. Each frame from the real peer is fed at
 * its recorded time (FakeClock), and whatever our Link emits in response is compared
 * with what the replaced pppd answered to the same frame:
 *
 * - Requests from the peer (Configure-Request, Echo-Request, Terminate-Request, CHAP
 *   Challenge/Response, PAP Authenticate-Request, data) are fed exactly as recorded.
 * - Replies from the peer to the *replaced* pppd's requests (Configure-Ack/Nak/Reject,
 *   Terminate-Ack) cannot apply to ours byte for byte (our requests differ), so they are
 *   **adapted**: the same kind of reply, with our request's identifier (and, for an Ack,
 *   our request's options). The report marks these frames "adapted".
 * - Random values are injected so recorded answers can verify: our LCP Magic-Number is
 *   the replaced pppd's, a server's CHAP identifier and challenge are pppd's (when the
 *   length fits), a client's MS-CHAPv2 peer challenge is pppd's.
 * - Frames the replaced pppd never received (lost before its tunnel was ready; it did
 *   not log them) are not fed. When the replaced pppd hung up, we close our Link there.
 */
import { FakeClock } from '../../src/protocol/clock.js';
import { Link, type LinkInfo, type Role } from '../../src/protocol/ppp/link.js';
import { createAuthClient, createAuthServer, LocalVerifier } from '../../src/protocol/ppp/auth/index.js';
import type { AuthMethod } from '../../src/protocol/ppp/auth/types.js';
import { chapMd5Response } from '../../src/crypto/chap.js';
import { mschap1NtResponse, mschap2NtResponse } from '../../src/crypto/mschap.js';
import { describe, splitPpp, type FixtureFrame, type PppFixture, type Direction } from './ppp-fixture.js';

const LCP = 0xc021;
const IPCP = 0x8021;
const CCP = 0x80fd;
const PAP = 0xc023;
const CHAP = 0xc223;
const CONTROL = new Set([LCP, IPCP, CCP]);
const C = { REQ: 1, ACK: 2, NAK: 3, REJ: 4, TERM_REQ: 5, TERM_ACK: 6, ECHO_REQ: 9, ECHO_REP: 10 } as const;

export type Verdict = 'ok' | 'FAIL' | 'info';

export interface ReplayStep {
  /** The real frame this step is about (none for our own start). */
  frame?: FixtureFrame;
  action: 'start' | 'timer' | 'fed' | 'fed-adapted' | 'not-delivered' | 'close' | 'end';
  /** Hex actually fed when adapted. */
  fed?: string;
  /** Frames our Link emitted during this step (human summaries). */
  answers: string[];
  /** What the replaced pppd answered to this frame (summary), if anything. */
  pppdAnswer?: string;
  verdict: Verdict;
  note: string;
}

export interface ReplayReport {
  fixture: string;
  role: Role;
  steps: ReplayStep[];
  failures: ReplayStep[];
  up?: LinkInfo;
  down?: string;
  /** IPv4 packets our Link delivered (onData), with src/dst. */
  delivered: { src: string; dst: string; length: number; checksumOk: boolean }[];
  /** Data frames the peer sent (that we fed). */
  peerDataFrames: number;
  log: string[];
}

interface Cp {
  proto: number;
  code: number;
  id: number;
  data: Uint8Array;
}

function parseFrame(bytes: Uint8Array): { proto: number; info: Uint8Array } {
  return splitPpp(bytes);
}

function cp(proto: number, info: Uint8Array): Cp | undefined {
  if (info.length < 4) return undefined;
  const len = Math.min((info[2]! << 8) | info[3]!, info.length);
  return { proto, code: info[0]!, id: info[1]!, data: info.subarray(4, Math.max(4, len)) };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const eqBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);
const ip4 = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** Options of a Configure packet as [type, bytes] (RFC 1661 §6). */
function options(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + 2 <= data.length; ) {
    const l = data[o + 1]!;
    if (l < 2 || o + l > data.length) break;
    out.push(data.subarray(o, o + l));
    o += l;
  }
  return out;
}

function encodeFrame(proto: number, code: number, id: number, data: Uint8Array): Uint8Array {
  const f = new Uint8Array(4 + 4 + data.length);
  f.set([0xff, 0x03, proto >> 8, proto & 0xff, code, id, (4 + data.length) >> 8, (4 + data.length) & 0xff]);
  f.set(data, 8);
  return f;
}

/** pppd's trace code names (pppd/lcp.c, fsm.c, chap-new.c, upap.c). */
const TRACE_CODES: Record<string, number> = {
  ConfReq: 1, ConfAck: 2, ConfNak: 3, ConfRej: 4, TermReq: 5, TermAck: 6, CodeRej: 7, ProtRej: 8,
  EchoReq: 9, EchoRep: 10, DiscReq: 11, ResetReq: 14, ResetAck: 15,
  Challenge: 1, Response: 2, Success: 3, Failure: 4, AuthReq: 1, AuthAck: 2, AuthNak: 3,
};
const TRACE_PROTOS: Record<string, number> = { LCP, IPCP, CCP, CHAP, PAP };

function traceKey(line: string): { dir: 'sent' | 'rcvd'; key: string } | undefined {
  const m = /^(sent|rcvd) \[(LCP|IPCP|CCP|CHAP|PAP) (\w+) id=0x([0-9a-f]+)/.exec(line);
  if (!m) return undefined;
  const code = TRACE_CODES[m[3]!];
  if (code === undefined) return undefined;
  return { dir: m[1] as 'sent' | 'rcvd', key: `${TRACE_PROTOS[m[2]!]}:${code}:${parseInt(m[4]!, 16)}` };
}

function frameKey(f: FixtureFrame): string | undefined {
  if (!CONTROL.has(f.proto) && f.proto !== CHAP && f.proto !== PAP) return undefined;
  const { info } = parseFrame(Buffer.from(f.hex, 'hex'));
  return `${f.proto}:${info[0]}:${info[1]}`;
}

/**
 * Which captured frames did the replaced pppd really see? Frames to it arrive in wire
 * order, so align the captured control frames towards it with its own "rcvd [...]" trace
 * lines (longest common subsequence); a captured frame with no matching line was lost
 * before it reached pppd (e.g. before the LAC's kernel session existed).
 */
function deliveredToReplaced(fx: PppFixture, replaced: Role): Set<number> {
  const toReplaced: Direction = replaced === 'server' ? 'c2s' : 's2c';
  const tr = fx.pppdTrace[replaced]
    .map(traceKey)
    .filter((x): x is { dir: 'sent' | 'rcvd'; key: string } => !!x && x.dir === 'rcvd')
    .map((x) => x.key);
  const cap = fx.frames
    .filter((f) => f.dir === toReplaced)
    .map((f) => ({ i: f.i, key: frameKey(f) }))
    .filter((x): x is { i: number; key: string } => !!x.key);
  const n = cap.length;
  const m = tr.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i]![j] = cap[i]!.key === tr[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
    }
  }
  const matched = new Set<number>();
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (cap[i]!.key === tr[j]) {
      matched.add(cap[i]!.i);
      i++;
      j++;
    } else if (L[i + 1]![j]! >= L[i]![j + 1]!) i++;
    else j++;
  }
  const delivered = new Set<number>();
  for (const f of fx.frames) {
    if (f.dir !== toReplaced) continue;
    // Data frames are not traced by pppd; they count as delivered.
    if (frameKey(f) === undefined || matched.has(f.i)) delivered.add(f.i);
  }
  return delivered;
}

/** A Magic-Number option (type 5) in a Configure-Request. */
function magicOf(data: Uint8Array): number | undefined {
  for (const o of options(data)) if (o[0] === 5 && o.length === 6) return ((o[2]! << 24) | (o[3]! << 16) | (o[4]! << 8) | o[5]!) >>> 0;
  return undefined;
}

function authMethodOf(fx: PppFixture): AuthMethod {
  const m = fx.auth.method;
  return m === 'mschapv2' ? 'mschap2' : m === 'mschapv1' ? 'mschap1' : m === 'chap' ? 'chap' : 'pap';
}

/** Deterministic filler for random bytes we do not inject (xorshift). */
function prng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
}

export interface ReplayOptions {
  /**
   * Our side's secret for the user (server: the stored password the verifier checks;
   * client: the password we authenticate with). Default: the lab password the peer used.
   * A different one turns the replay into a wrong-password check.
   */
  password?: string;
}

export function replay(fx: PppFixture, role: Role, opts: ReplayOptions = {}): ReplayReport {
  const ourPassword = opts.password ?? fx.credentials.password;
  const rightPassword = ourPassword === fx.credentials.password;
  const replacedDir: Direction = role === 'server' ? 's2c' : 'c2s';
  const framesOf = (dir: Direction) => fx.frames.filter((f) => f.dir === dir);
  const delivered = deliveredToReplaced(fx, role);
  const method = authMethodOf(fx);
  const mppe = /MPPE 128-bit stateless/.test(fx.negotiated.client.compression ?? '');
  const a = fx.auth;

  // What the replaced pppd put in its first LCP Configure-Request: we mirror its magic
  // number (so Echo-Replies compare byte for byte) and its PFC/ACFC requests.
  const replacedLcpReq = framesOf(replacedDir)
    .map((f) => ({ f, c: cp(f.proto, parseFrame(Buffer.from(f.hex, 'hex')).info) }))
    .find((x) => x.f.proto === LCP && x.c?.code === C.REQ)?.c;
  const replacedOpts = replacedLcpReq ? options(replacedLcpReq.data).map((o) => o[0]) : [];
  const magic = replacedLcpReq ? magicOf(replacedLcpReq.data) : undefined;
  let magicGiven = false;
  const fill = prng(0x5eed ^ fx.frames.length);
  const random32 = () => {
    if (magic !== undefined && !magicGiven) {
      magicGiven = true;
      return magic;
    }
    const b = fill(4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  };

  // Auth random sources: the server's CHAP identifier and challenge, the client's peer challenge.
  const recordedChallenge = a.challenge ? Uint8Array.from(Buffer.from(a.challenge, 'hex')) : undefined;
  const recordedChapId = a.chapId !== undefined ? Number(a.chapId) : undefined;
  let ourChallenge: Uint8Array | undefined;
  const serverRandom = (n: number): Uint8Array => {
    if (n === 1 && recordedChapId !== undefined) return Uint8Array.of(recordedChapId);
    if (recordedChallenge && n === recordedChallenge.length) return (ourChallenge = Uint8Array.from(recordedChallenge));
    return (ourChallenge = fill(n));
  };
  const clientRandom = (n: number): Uint8Array =>
    a.peerChallenge && n === 16 ? Uint8Array.from(Buffer.from(a.peerChallenge, 'hex')) : fill(n);

  const clock = new FakeClock();
  const log: string[] = [];
  const emitted: Uint8Array[] = [];
  const deliveredData: ReplayReport['delivered'] = [];
  let up: LinkInfo | undefined;
  let down: string | undefined;
  const verifier = new LocalVerifier((u) => (u === fx.credentials.user ? { password: ourPassword } : undefined), {
    mschap1Keys: 'pppd',
  });
  const link = new Link({
    role,
    clock,
    random: random32,
    user: fx.credentials.user,
    password: ourPassword,
    verifier,
    name: fx.credentials.serverName,
    authentication: [method],
    useEncryption: mppe ? 'required' : 'no',
    mppeBits: [128],
    localAddress: role === 'server' ? fx.negotiated.server.localIp : undefined,
    remoteAddress: role === 'server' ? fx.negotiated.server.remoteIp : undefined,
    requestPfc: replacedOpts.includes(7),
    requestAcfc: replacedOpts.includes(8),
    auth: {
      createClient: (m, o) => createAuthClient(m, { ...o, random: clientRandom, mschap1Keys: 'pppd' }),
      createServer: (m, o) => createAuthServer(m, { ...o, random: serverRandom }),
    },
    onFrame: (f) => emitted.push(Uint8Array.from(f)),
    onData: (buf, off, len) => {
      const p = buf.subarray(off, off + len);
      deliveredData.push({ src: ip4(p, 12), dst: ip4(p, 16), length: len, checksumOk: ipv4ChecksumOk(p) });
    },
    onUp: (info) => (up = info),
    onDown: (r) => (down = r),
    log: (l) => log.push(`${clock.now()}ms ${l}`),
  });

  const steps: ReplayStep[] = [];
  /** Our latest Configure-Request / Terminate-Request per protocol (for adapted replies). */
  const lastReq = new Map<number, Cp>();
  const lastTermReq = new Map<number, Cp>();
  const drain = (): { bytes: Uint8Array; c?: Cp; proto: number; what: string }[] => {
    const out = emitted.splice(0).map((bytes) => {
      const { proto, info } = parseFrame(bytes);
      const c = CONTROL.has(proto) || proto === CHAP || proto === PAP ? cp(proto, info) : undefined;
      if (c && CONTROL.has(proto) && c.code === C.REQ) lastReq.set(proto, c);
      if (c && CONTROL.has(proto) && c.code === C.TERM_REQ) lastTermReq.set(proto, c);
      return { bytes, c, proto, what: describe(proto, info) };
    });
    return out;
  };

  // Our Link starts when the replaced pppd did (its first frame): its restart timers then
  // run on the same schedule as pppd's. Peer frames captured earlier waited in the
  // tunnel (pty / socket buffer) and are fed right after the start.
  const startAt = framesOf(replacedDir)[0]?.t ?? 0;
  clock.advance(startAt);
  link.start();
  steps.push({ action: 'start', answers: drain().map((x) => x.what), verdict: 'info', note: `t=${startAt}ms tunnel up: our Link starts LCP (when the replaced pppd sent its first frame)` });

  let weClosed = false;
  let peerTerminated = false;
  let peerData = 0;
  for (const f of fx.frames) {
    if (f.t > clock.now()) {
      clock.advance(f.t - clock.now());
      const timed = drain();
      if (timed.length) steps.push({ action: 'timer', answers: timed.map((x) => x.what), verdict: 'info', note: `our timers fired by t=${f.t}ms` });
    }
    const bytes = Uint8Array.from(Buffer.from(f.hex, 'hex'));
    const { proto, info } = parseFrame(bytes);
    const c = cp(proto, info);

    if (f.dir === replacedDir) {
      // The replaced pppd's own frame. Its hang-up is the one initiative we reproduce.
      if (proto === LCP && c?.code === C.TERM_REQ && !weClosed && !peerTerminated && down === undefined && link.phase !== 'terminate') {
        weClosed = true;
        link.close('replaced pppd hung up here');
        const ans = drain();
        const ok = ans.some((x) => x.proto === LCP && x.c?.code === C.TERM_REQ);
        steps.push({
          frame: f,
          action: 'close',
          answers: ans.map((x) => x.what),
          verdict: ok ? 'ok' : 'FAIL',
          note: ok ? 'pppd hung up here; we close too and send Terminate-Request' : 'close() did not send a Terminate-Request',
        });
      }
      continue;
    }

    if (!delivered.has(f.i)) {
      steps.push({ frame: f, action: 'not-delivered', answers: [], verdict: 'info', note: `the replaced pppd never received this frame (not in its log), not fed` });
      continue;
    }

    // The replaced pppd's answer to this frame, if any: its next frame of the same
    // protocol with a reply code and the same identifier.
    const pppdAns = fx.frames.find((g) => {
      if (g.i <= f.i || g.dir !== replacedDir || g.proto !== proto) return false;
      const gc = cp(g.proto, parseFrame(Buffer.from(g.hex, 'hex')).info);
      if (!gc || !c || gc.id !== c.id) return false;
      if (CONTROL.has(proto)) {
        if (c.code === C.REQ) return gc.code >= C.ACK && gc.code <= C.REJ;
        if (c.code === C.TERM_REQ) return gc.code === C.TERM_ACK;
        if (c.code === C.ECHO_REQ) return gc.code === C.ECHO_REP;
        return false;
      }
      if (proto === CHAP) return (c.code === 1 && gc.code === 2) || (c.code === 2 && (gc.code === 3 || gc.code === 4));
      if (proto === PAP) return c.code === 1 && (gc.code === 2 || gc.code === 3);
      return false;
    });
    const pppdC = pppdAns ? cp(pppdAns.proto, parseFrame(Buffer.from(pppdAns.hex, 'hex')).info) : undefined;

    // Once our link is terminating or down (e.g. after a correct authentication Failure),
    // further frames get no answer but a Terminate-Ack (RFC 1661 §4.1, Closing/Stopping);
    // a Terminate-Ack itself goes through the normal path (it is adapted to our request).
    const isTermAck = proto === LCP && c?.code === C.TERM_ACK;
    if (!isTermAck && (down !== undefined || link.phase === 'terminate')) {
      const state = down !== undefined ? `down (${down})` : 'terminating';
      link.receiveFrame(bytes);
      const late = drain();
      const bad = late.filter((x) => !(x.proto === LCP && x.c?.code === C.TERM_ACK));
      steps.push({
        frame: f,
        action: 'fed',
        answers: late.map((x) => x.what),
        verdict: bad.length ? 'FAIL' : 'info',
        note: bad.length ? `our link is ${state} but answered ${bad.map((x) => x.what).join(', ')}` : `our link is ${state}: ${late.length ? 'Terminate-Ack only' : 'ignored'}`,
      });
      continue;
    }
    // Adapt replies to the replaced side's requests.
    let feed: Uint8Array = bytes;
    let adapted = false;
    let adaptNote = '';
    if (c && CONTROL.has(proto) && c.code >= C.ACK && c.code <= C.REJ) {
      const ours = lastReq.get(proto);
      if (!ours) {
        steps.push({ frame: f, action: 'fed', answers: [], verdict: 'FAIL', note: `peer answers a ${describe(proto, info)} but we never sent a Configure-Request of this protocol` });
        continue;
      }
      feed = encodeFrame(proto, c.code, ours.id, c.code === C.ACK ? ours.data : c.data);
      adapted = true;
      adaptNote = c.code === C.ACK ? `pppd acked pppd's request; we feed an Ack of ours (id ${ours.id})` : `same option data, our id ${ours.id}`;
    } else if (c && proto === LCP && c.code === C.TERM_ACK) {
      const ours = lastTermReq.get(LCP);
      if (ours && ours.id !== c.id) {
        feed = encodeFrame(LCP, C.TERM_ACK, ours.id, c.data);
        adapted = true;
        adaptNote = `Terminate-Ack for our request id ${ours.id}`;
      }
    }
    const before = { dataCount: deliveredData.length };
    if (c && proto === LCP && c.code === C.TERM_REQ) peerTerminated = true;
    link.receiveFrame(feed);
    const ans = drain();
    const step: ReplayStep = {
      frame: f,
      action: adapted ? 'fed-adapted' : 'fed',
      ...(adapted ? { fed: hex(feed) } : {}),
      answers: ans.map((x) => x.what),
      ...(pppdAns ? { pppdAnswer: pppdAns.what } : {}),
      verdict: 'ok',
      note: adaptNote,
    };
    const fail = (why: string) => {
      step.verdict = 'FAIL';
      step.note = [adaptNote, why].filter(Boolean).join('; ');
    };
    const okNote = (why: string) => {
      step.note = [adaptNote, why].filter(Boolean).join('; ');
    };
    const reply = (p: number, codes: number[], id: number) => ans.find((x) => x.proto === p && x.c && codes.includes(x.c.code) && x.c.id === id);

    if (proto === 0x0021 || proto === 0x00fd) {
      peerData++;
      const got = deliveredData.length - before.dataCount;
      if (got !== 1) fail(`expected one IPv4 packet delivered, got ${got} (link ${link.phase}, drops ${JSON.stringify(link.stats.drops)})`);
      else {
        const d = deliveredData[deliveredData.length - 1]!;
        const [src, dst] = f.dir === 'c2s' ? [fx.negotiated.client.localIp, fx.negotiated.client.remoteIp] : [fx.negotiated.client.remoteIp, fx.negotiated.client.localIp];
        if (d.src !== src || d.dst !== dst) fail(`delivered ${d.src} > ${d.dst}, expected ${src} > ${dst}`);
        else if (!d.checksumOk) fail(`delivered IPv4 ${d.src} > ${d.dst} with a bad header checksum`);
        else okNote(`delivered IPv4 ${d.src} > ${d.dst} (${d.length} bytes, header checksum ok)${proto === 0xfd ? ', decrypted with our MPPE' : ''}`);
      }
    } else if (!c) {
      fail('unparseable control frame');
    } else if (CONTROL.has(proto)) {
      switch (c.code) {
        case C.REQ: {
          const r = reply(proto, [C.ACK, C.NAK, C.REJ], c.id);
          if (!r) fail('no Configure-Ack/Nak/Reject with this identifier');
          else if (pppdC && r.c!.code !== pppdC.code) fail(`we answered ${r.what}, pppd answered ${pppdAns!.what}`);
          else if (r.c!.code === C.ACK && !eqBytes(r.c!.data, c.data)) fail('our Configure-Ack does not repeat the request options');
          else if (pppdC && r.c!.code !== C.ACK && !eqBytes(r.c!.data, pppdC.data)) fail(`our ${r.what} options ${hex(r.c!.data)} differ from pppd's ${hex(pppdC.data)}`);
          else okNote(`${r.what}${pppdC ? ' as pppd' : ' (pppd never answered this one)'}${r.c!.code === C.ACK ? '' : ' with the same options'}`);
          break;
        }
        case C.ACK:
        case C.NAK:
        case C.REJ: {
          if (c.code === C.NAK || c.code === C.REJ) {
            const again = ans.find((x) => x.proto === proto && x.c?.code === C.REQ);
            if (!again) fail('no new Configure-Request after the Nak/Reject');
            else {
              const want = options(c.data);
              const have = options(again.c!.data);
              const ok =
                c.code === C.NAK
                  ? want.every((w) => have.some((h) => eqBytes(h, w)))
                  : want.every((w) => !have.some((h) => h[0] === w[0]));
              if (!ok) fail(`our next request ${hex(again.c!.data)} does not follow the ${c.code === C.NAK ? 'Nak' : 'Reject'} ${hex(c.data)}`);
              else okNote(`new request follows it: ${again.what}`);
            }
          } else okNote(ans.length ? `then: ${ans.map((x) => x.what).join(', ')}` : 'accepted');
          break;
        }
        case C.TERM_REQ: {
          const r = reply(proto, [C.TERM_ACK], c.id);
          if (!r) fail('no Terminate-Ack with this identifier');
          else okNote(r.what);
          break;
        }
        case C.TERM_ACK:
          okNote(down !== undefined ? `link down: ${down}` : 'accepted');
          break;
        case C.ECHO_REQ: {
          const r = reply(LCP, [C.ECHO_REP], c.id);
          if (!r) fail('no Echo-Reply with this identifier');
          else if (pppdC && !eqBytes(r.c!.data, pppdC.data)) fail(`Echo-Reply ${hex(r.c!.data)} differs from pppd's ${hex(pppdC.data)} (magic/data)`);
          else okNote(`${r.what}${pppdC ? ', byte-identical to pppd\'s (same magic)' : ''}`);
          break;
        }
        case C.ECHO_REP:
          if (ans.length) fail(`an Echo-Reply needs no answer, we sent ${ans.map((x) => x.what).join(', ')}`);
          else okNote('no answer needed');
          break;
        default:
          okNote('');
      }
    } else if (proto === CHAP) {
      if (c.code === 1) {
        // Challenge (we are the client): our Response must equal pppd's with the injected peer challenge.
        const r = reply(CHAP, [2], c.id);
        if (!r) fail('no CHAP Response with the Challenge identifier');
        else if (!rightPassword) okNote(`${r.what} (made with our other password, cannot equal pppd's)`);
        else if (pppdC && !eqBytes(valueOf(r.c!.data), valueOf(pppdC.data))) fail(`our Response value ${hex(valueOf(r.c!.data))} differs from pppd's ${hex(valueOf(pppdC.data))}`);
        else okNote(`${r.what}: value identical to pppd's, name ${JSON.stringify(nameOf(r.c!.data))}`);
      } else if (c.code === 2) {
        // Response (we are the server): Success only if it verifies against the challenge we sent.
        const value = valueOf(c.data);
        const verifies = ourChallenge !== undefined && responseVerifies(method, c.id, ourChallenge, value, fx.credentials.user, ourPassword);
        const r = reply(CHAP, [3, 4], c.id);
        if (!r) fail('no CHAP Success/Failure');
        else if (verifies && r.c!.code !== 3) fail(`the response verifies against our challenge but we answered ${r.what}`);
        else if (!verifies && r.c!.code !== 4) fail(`the response cannot verify against our challenge but we answered ${r.what}`);
        else if (verifies && method === 'mschap2' && pppdC) {
          const ours = Buffer.from(r.c!.data).toString('latin1').slice(0, 42);
          const theirs = Buffer.from(pppdC.data).toString('latin1').slice(0, 42);
          if (ours !== theirs) fail(`authenticator response ${ours} differs from pppd's ${theirs}`);
          else okNote(`${r.what} with ${ours}, identical to pppd's`);
        } else if (verifies) okNote(r.what);
        else if (!rightPassword) okNote(`${r.what}: the response does not verify with our stored password`);
        else okNote(`${r.what}: the recorded response was made for pppd's ${recordedChallenge?.length}-octet challenge, ours is ${ourChallenge?.length} octets`);
      } else if (c.code === 3 || c.code === 4) {
        if (ans.some((x) => x.proto === CHAP)) fail('CHAP Success/Failure needs no CHAP answer');
        else if (c.code === 3 && method === 'mschap2' && !rightPassword) {
          // RFC 2759 §5: the client checks the server's authenticator response; made with
          // a different password it cannot match, so we must not accept this Success.
          if (link.phase === 'network' || link.phase === 'running') fail('accepted a Success whose authenticator response cannot match our password');
          else okNote(`rejected: the server's authenticator response does not match our password (link ${down !== undefined ? `down: ${down}` : link.phase})`);
        } else if (c.code === 3 && link.phase !== 'network' && link.phase !== 'running') fail(`after Success our link is in phase ${link.phase}`);
        else okNote(c.code === 3 ? `accepted: phase ${link.phase}${method === 'mschap2' ? ' (authenticator response verified)' : ''}` : 'accepted');
      }
    } else if (proto === PAP) {
      if (c.code === 1) {
        const r = reply(PAP, [2, 3], c.id);
        const sent = papPassword(c.data);
        if (!r) fail('no PAP Authenticate-Ack/Nak');
        else if (sent === ourPassword && r.c!.code !== 2) fail(`correct password but we answered ${r.what}`);
        else if (sent !== ourPassword && r.c!.code !== 3) fail(`wrong password but we answered ${r.what}`);
        else okNote(r.what);
      } else if (ans.some((x) => x.proto === PAP)) fail('PAP Ack/Nak needs no answer');
      else okNote(`accepted: phase ${link.phase}`);
    }
    steps.push(step);
  }

  // After the last frame: let the Terminate exchange finish (RFC 1661 §4.1 Stopping ->
  // Stopped on the restart timer) as it would before the tunnel closes.
  clock.advance(10_000);
  const tail = drain();
  let endNote = `10 s after the last frame: link ${down !== undefined ? `down (${down})` : `still ${link.phase}`}`;
  if (down === undefined) {
    // No LCP Terminate in the capture (xl2tpd hangs up with StopCCN): the tunnel goes away.
    link.lowerDown('tunnel closed (end of capture)');
    endNote += '; the tunnel closes (lowerDown)';
  }
  steps.push({ action: 'end', answers: tail.map((x) => x.what), verdict: 'info', note: endNote });

  return {
    fixture: fx.name,
    role,
    steps,
    failures: steps.filter((s) => s.verdict === 'FAIL'),
    up,
    down,
    delivered: deliveredData,
    peerDataFrames: peerData,
    log,
  };
}

/** RFC 791 §3.1: the one's-complement sum over the header, checksum included, is 0xFFFF. */
function ipv4ChecksumOk(p: Uint8Array): boolean {
  const ihl = (p[0]! & 0x0f) * 4;
  if (p.length < 20 || ihl < 20 || ihl > p.length) return false;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** PAP Authenticate-Request: Peer-ID-Length, Peer-ID, Passwd-Length, Password (RFC 1334 §2.2.1). */
function papPassword(data: Uint8Array): string {
  const ul = data[0] ?? 0;
  const pl = data[1 + ul] ?? 0;
  return Buffer.from(data.subarray(2 + ul, 2 + ul + pl)).toString('latin1');
}

/** CHAP Challenge/Response Value (RFC 1994 §4.1: Value-Size, Value, Name). */
function valueOf(data: Uint8Array): Uint8Array {
  return data.subarray(1, 1 + (data[0] ?? 0));
}
function nameOf(data: Uint8Array): string {
  return Buffer.from(data.subarray(1 + (data[0] ?? 0))).toString('latin1');
}

function responseVerifies(method: AuthMethod, id: number, challenge: Uint8Array, value: Uint8Array, user: string, pw: string): boolean {
  switch (method) {
    case 'chap':
      return eqBytes(chapMd5Response(id, pw, challenge), value);
    case 'mschap1':
      return challenge.length === 8 && value.length === 49 && eqBytes(mschap1NtResponse(challenge, pw), value.subarray(24, 48));
    case 'mschap2':
      return challenge.length === 16 && value.length === 49 && eqBytes(mschap2NtResponse(challenge, value.subarray(0, 16), user, pw), value.subarray(24, 48));
    default:
      return false;
  }
}

/** One line per step: which real frame got which answer. */
export function formatReport(r: ReplayReport): string {
  const lines = [`replay ${r.fixture}: we are the ${r.role}, fed the pppd ${r.role === 'server' ? 'client' : 'server'}'s frames`];
  for (const s of r.steps) {
    const f = s.frame;
    const head = f ? `#${String(f.i).padStart(2, '0')} t=${f.t.toFixed(1)}ms ${f.dir} ${f.what}` : '--';
    const act = s.action === 'fed-adapted' ? 'fed ADAPTED' : s.action;
    const ans = s.answers.length ? ` -> ours: ${s.answers.join(' + ')}` : '';
    const pppd = s.pppdAnswer ? ` | pppd: ${s.pppdAnswer}` : '';
    lines.push(`${s.verdict.padEnd(4)} ${head} [${act}]${ans}${pppd}${s.note ? ` | ${s.note}` : ''}`);
  }
  lines.push(
    `result: ${r.failures.length} failed step(s); up=${r.up ? `${r.up.localAddress}<->${r.up.remoteAddress} ${r.up.encoding} auth ${r.up.authMethod ?? '-'}` : 'never'}; ` +
      `delivered ${r.delivered.length}/${r.peerDataFrames} peer data frames; down=${r.down ?? 'no'}`,
  );
  return lines.join('\n');
}
