/**
 * Our PPP Link against a real pppd 2.4.9 (kernel ppp_async + ppp_mppe) in a UML guest of
 * the interop lab, without any tunnel: pppd runs `pty "busybox nc 198.18.0.1 PORT"`, a
 * relay inside netns ia-lab hands the byte stream to this process, and RFC 1662 async
 * HDLC framing (src/codec/ppp/hdlc.ts) carries the frames. We check what a user would:
 * the link comes up with the expected addresses and encoding, an ICMP echo we send to the
 * guest over the link is answered by the guest kernel through pppd, and pppd's own log
 * agrees on authentication and MPPE. Needs root; fails (never skips) if the lab cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { withLab, LAB_NETNS, LAB_HOST_IP, LAB_USER, LAB_PASSWORD, type Lab } from './lab.js';
import { RealClock } from '../../src/io/real-clock.js';
import { Link, type LinkConfig, type LinkInfo } from '../../src/protocol/ppp/link.js';
import { LocalVerifier } from '../../src/protocol/ppp/auth/index.js';
import * as hdlc from '../../src/codec/ppp/hdlc.js';

const GUEST = 'pppcli';
const GUEST_IP = '198.18.0.30';
const COMMON = 'nodefaultroute noipv6 novj novjccomp nobsdcomp nodeflate debug dump lcp-echo-interval 5 lcp-echo-failure 4';

const RELAY = [
  "const net=require('node:net');const port=+process.argv[1];",
  'const srv=net.createServer((s)=>{srv.close();process.stdin.pipe(s);s.pipe(process.stdout);',
  "s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(1));});",
  `srv.listen(port,'${LAB_HOST_IP}',()=>process.stderr.write('listening\\n'));`,
  "setTimeout(()=>process.exit(3),120000);",
].join('');

function ipv4Checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function dotted(a: string): number[] {
  return a.split('.').map(Number);
}

/** ICMP echo request src -> dst with a 56-octet payload. */
function icmpEcho(src: string, dst: string, seq: number): Uint8Array {
  const p = new Uint8Array(84);
  p.set([0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0], 0);
  p.set(dotted(src), 12);
  p.set(dotted(dst), 16);
  const c = ipv4Checksum(p, 0, 20);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set([8, 0, 0, 0, 0x43, 0x56, seq >> 8, seq & 0xff], 20);
  for (let i = 28; i < 84; i++) p[i] = i;
  const k = ipv4Checksum(p, 20, 64);
  p[22] = k >> 8;
  p[23] = k & 0xff;
  return p;
}

interface Scenario {
  name: string;
  /** Our side's role; pppd takes the other one. */
  role: 'server' | 'client';
  link: Partial<LinkConfig>;
  pppd: string;
  expect: { encoding: string; authMethod: string; pppdLog: RegExp[] };
}

/** Scenarios that must fail the way a user would see it. */
interface FailScenario {
  name: string;
  role: 'server' | 'client';
  link: Partial<LinkConfig>;
  pppd: string;
  reason: string;
  pppdLog: RegExp[];
}

const SERVER_ADDR = { localAddress: '198.19.3.1', remoteAddress: '198.19.3.100' };
const SCENARIOS: Scenario[] = [
  {
    name: 'our server (MS-CHAPv2, use-encryption=required) <- pppd client require-mppe-128',
    role: 'server',
    link: { authentication: ['mschap2', 'mschap1'], useEncryption: 'required', dns: ['198.18.9.9', '198.18.9.10'], ...SERVER_ADDR },
    pppd: `noauth name ${LAB_USER} user ${LAB_USER} noipdefault usepeerdns refuse-pap refuse-chap refuse-eap require-mppe-128`,
    expect: {
      encoding: 'MPPE128 stateless',
      authMethod: 'mschap2',
      pppdLog: [/MPPE 128-bit stateless compression enabled/, /local  IP address 198\.19\.3\.100/, /primary   DNS address 198\.18\.9\.9/, /secondary DNS address 198\.18\.9\.10/],
    },
  },
  {
    name: 'our server (MS-CHAPv1, MPPE-128 stateful) <- pppd client mppe-stateful',
    role: 'server',
    link: { authentication: ['mschap1'], useEncryption: 'required', mppeBits: [128], mppeMode: 'stateful', ...SERVER_ADDR },
    pppd: `noauth name ${LAB_USER} user ${LAB_USER} noipdefault refuse-pap refuse-chap refuse-mschap-v2 refuse-eap require-mppe-128 mppe-stateful`,
    expect: { encoding: 'MPPE128 stateful', authMethod: 'mschap1', pppdLog: [/MPPE 128-bit stateful compression enabled/] },
  },
  {
    name: 'our server (PAP, use-encryption=no) <- pppd client',
    role: 'server',
    link: { authentication: ['pap'], useEncryption: 'no', ...SERVER_ADDR },
    pppd: `noauth name ${LAB_USER} user ${LAB_USER} noipdefault refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap nomppe`,
    expect: { encoding: 'none', authMethod: 'pap', pppdLog: [/PAP authentication succeeded/] },
  },
  {
    name: 'our client (allow all, use-encryption=yes) -> pppd server require-mschap-v2 require-mppe-128',
    role: 'client',
    link: { useEncryption: 'yes' },
    pppd: `auth name ia-lns require-mschap-v2 refuse-pap refuse-chap refuse-mschap refuse-eap require-mppe-128 198.19.3.1:198.19.3.100`,
    expect: { encoding: 'MPPE128 stateless', authMethod: 'mschap2', pppdLog: [/MPPE 128-bit stateless compression enabled/, /remote IP address 198\.19\.3\.100/] },
  },
  {
    name: 'our client (MPPE-40 only) -> pppd server require-mppe-40',
    role: 'client',
    link: { allow: ['mschap2'], useEncryption: 'required', mppeBits: [40] },
    pppd: `auth name ia-lns require-mschap-v2 refuse-pap refuse-chap refuse-mschap refuse-eap require-mppe-40 198.19.3.1:198.19.3.100`,
    expect: { encoding: 'MPPE40 stateless', authMethod: 'mschap2', pppdLog: [/MPPE 40-bit stateless compression enabled/] },
  },
  {
    name: 'our client (allow mschap2 only) Naks pppd\'s CHAP-MD5 offer and gets MS-CHAPv2',
    role: 'client',
    link: { allow: ['mschap2'], useEncryption: 'yes' },
    pppd: `auth name ia-lns require-chap require-mschap-v2 refuse-pap refuse-mschap refuse-eap nomppe 198.19.3.1:198.19.3.100`,
    expect: { encoding: 'none', authMethod: 'mschap2', pppdLog: [/sent \[LCP ConfReq id=0x1 [^\]]*<auth chap MD5>/, /rcvd \[LCP ConfNak id=0x1 <auth chap MS-v2>\]/, /sent \[CHAP Success/] },
  },
];

const FAILURES: FailScenario[] = [
  {
    name: 'our server, pppd client with a wrong password: "authentication failed" on both sides',
    role: 'server',
    link: { authentication: ['mschap2'], useEncryption: 'no', ...SERVER_ADDR },
    pppd: `noauth name ${LAB_USER} user ${LAB_USER} password wrong-pass-1 noipdefault refuse-pap refuse-chap refuse-mschap refuse-eap nomppe`,
    reason: 'authentication failed',
    pppdLog: [/MS-CHAP authentication failed/],
  },
  {
    name: 'our server requires MPPE, pppd client refuses it: terminates with a clear reason',
    role: 'server',
    link: { authentication: ['mschap2'], useEncryption: 'required', ...SERVER_ADDR },
    pppd: `noauth name ${LAB_USER} user ${LAB_USER} noipdefault refuse-pap refuse-chap refuse-mschap refuse-eap nomppe`,
    reason: 'encryption required but peer refused MPPE',
    pppdLog: [/LCP terminated by peer \(encryption required but peer refused MPPE\)/],
  },
  {
    name: 'our client allows PAP only, pppd server requires MS-CHAPv2: no common method',
    role: 'client',
    link: { allow: ['pap'], useEncryption: 'no' },
    pppd: `auth name ia-lns require-mschap-v2 refuse-pap refuse-chap refuse-mschap refuse-eap nomppe 198.19.3.1:198.19.3.100`,
    reason: 'peer refused all allowed methods',
    pppdLog: [/rcvd \[LCP ConfNak id=0x1 <auth pap>\]/],
  },
];

async function runFailure(lab: Lab, sc: FailScenario, port: number, diag: (l: string) => void): Promise<void> {
  const relay: ChildProcess = spawn('ip', ['netns', 'exec', LAB_NETNS, process.execPath, '-e', RELAY, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const logLines: string[] = [];
  let link: Link | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('relay did not start')), 15_000);
      relay.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
      relay.on('exit', (c) => reject(new Error(`relay exited ${c}`)));
    });
    let up: LinkInfo | undefined;
    let down: string | undefined;
    const data: Uint8Array[] = [];
    const finished = new Promise<void>((resolve) => {
      link = new Link({
        role: sc.role,
        clock: new RealClock(),
        user: LAB_USER,
        password: LAB_PASSWORD,
        verifier: new LocalVerifier((u) => (u === LAB_USER ? { password: LAB_PASSWORD } : undefined)),
        keepaliveTimeout: 10,
        ...sc.link,
        onFrame: (f) => relay.stdin!.write(hdlc.encode(f)),
        onData: (b, o, l) => data.push(b.slice(o, o + l)),
        onUp: (i) => { up = i; },
        onDown: (r) => { down = r; resolve(); },
        log: (l) => logLines.push(l),
      } as LinkConfig);
    });
    const dec = new hdlc.StreamDecoder((f) => link!.receiveFrame(f));
    relay.stdout!.on('data', (d: Buffer) => dec.push(d));
    link!.start();
    await lab.exec(GUEST, ['sh', '-c', `rm -f /tmp/pppd.log; pppd pty "busybox nc ${LAB_HOST_IP} ${port}" ${COMMON} ${sc.pppd} logfile /tmp/pppd.log </dev/null >/dev/null 2>&1 &`]);
    await Promise.race([finished, new Promise<void>((r) => setTimeout(r, 60_000))]);
    const log = (await lab.exec(GUEST, ['cat', '/tmp/pppd.log'])).stdout;
    if (down !== sc.reason) diag(`our log:\n${logLines.join('\n')}\npppd log:\n${log}`);
    assert.equal(down, sc.reason);
    assert.equal(up, undefined, 'never reported up');
    assert.equal(data.length, 0, 'no data delivered');
    for (const re of sc.pppdLog) assert.match(log, re);
    diag(`${sc.name}: down "${down}"`);
  } finally {
    link?.lowerDown('test cleanup');
    if (relay.exitCode === null) relay.kill('SIGTERM');
    await lab.exec(GUEST, ['sh', '-c', 'for p in $(pidof pppd); do kill $p; done; true']).catch(() => undefined);
  }
}

async function runScenario(lab: Lab, sc: Scenario, port: number, diag: (l: string) => void): Promise<void> {
  const relay: ChildProcess = spawn('ip', ['netns', 'exec', LAB_NETNS, process.execPath, '-e', RELAY, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const logLines: string[] = [];
  let link: Link | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('relay did not start')), 15_000);
      relay.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
      relay.on('exit', (c) => reject(new Error(`relay exited ${c}`)));
    });
    const clock = new RealClock();
    let up: LinkInfo | undefined;
    let down: string | undefined;
    const data: Uint8Array[] = [];
    const upOrDown = new Promise<void>((resolve) => {
      link = new Link({
        role: sc.role,
        clock,
        user: LAB_USER,
        password: LAB_PASSWORD,
        verifier: new LocalVerifier((u) => (u === LAB_USER ? { password: LAB_PASSWORD } : undefined)),
        name: 'culvert',
        keepaliveTimeout: 10,
        ...sc.link,
        onFrame: (f) => relay.stdin!.write(hdlc.encode(f)),
        onData: (b, o, l) => data.push(b.slice(o, o + l)),
        onUp: (i) => {
          up = i;
          resolve();
        },
        onDown: (r) => {
          down = r;
          resolve();
        },
        log: (l) => logLines.push(l),
      } as LinkConfig);
    });
    const dec = new hdlc.StreamDecoder((f) => link!.receiveFrame(f));
    relay.stdout!.on('data', (d: Buffer) => dec.push(d));
    link!.start();
    await lab.exec(GUEST, ['sh', '-c', `rm -f /tmp/pppd.log; pppd pty "busybox nc ${LAB_HOST_IP} ${port}" ${COMMON} ${sc.pppd} logfile /tmp/pppd.log </dev/null >/dev/null 2>&1 &`]);
    const timeout = new Promise<void>((r) => setTimeout(r, 30_000));
    await Promise.race([upOrDown, timeout]);
    const pppdLog = async () => (await lab.exec(GUEST, ['cat', '/tmp/pppd.log'])).stdout;
    if (!up) {
      diag(`our log:\n${logLines.join('\n')}`);
      diag(`pppd log:\n${await pppdLog()}`);
    }
    assert.ok(up, `link up (down: ${down ?? 'no'})`);
    assert.equal(up.encoding, sc.expect.encoding);
    assert.equal(up.authMethod, sc.expect.authMethod);
    if (sc.role === 'server') {
      assert.equal(up.remoteAddress, '198.19.3.100');
    } else {
      assert.equal(up.localAddress, '198.19.3.100');
      assert.equal(up.remoteAddress, '198.19.3.1');
    }
    // pppd configures ppp0 only after IPCP is up on its side too: wait for its log line.
    for (let i = 0; i < 50 && !/remote IP address/.test(await pppdLog()); i++) await new Promise((r) => setTimeout(r, 100));
    // Ping the guest through pppd: the echo reply comes back through the link.
    for (let seq = 1; seq <= 3; seq++) {
      assert.ok(link!.sendData(icmpEcho(up.localAddress, up.remoteAddress, seq)));
      await new Promise((r) => setTimeout(r, 300));
    }
    for (let i = 0; i < 20 && data.length < 3; i++) await new Promise((r) => setTimeout(r, 200));
    const replies = data.filter((p) => p[9] === 1 && p[20] === 0);
    assert.equal(replies.length, 3, `3 ICMP echo replies (got ${data.length} packets)`);
    assert.deepEqual([...replies[0].subarray(12, 16)], dotted(up.remoteAddress));
    const log = await pppdLog();
    for (const re of sc.expect.pppdLog) assert.match(log, re);
    diag(`${sc.name}: up ${up.localAddress}<->${up.remoteAddress} ${up.encoding} ${up.authMethod}, mtu ${up.mtu} mru ${up.mru}, 3/3 echo replies`);
    // Hang up from our side: pppd sees the Terminate-Request and exits.
    link!.close('test done');
    for (let i = 0; i < 50 && down === undefined; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(down, 'test done');
    const after = await pppdLog();
    assert.match(after, /LCP terminated by peer \(test done\)/);
  } finally {
    link?.lowerDown('test cleanup');
    if (relay.exitCode === null) relay.kill('SIGTERM');
    await lab.exec(GUEST, ['sh', '-c', 'for p in $(pidof pppd); do kill $p; done; true']).catch(() => undefined);
  }
}

test('PPP Link against real pppd over async HDLC (UML guest)', { timeout: 15 * 60_000 }, async (t) => {
  await withLab(
    async (lab) => {
      await lab.start(['idle'], { name: GUEST, ip: GUEST_IP });
      let port = 19_000 + (process.pid % 1000);
      for (const sc of SCENARIOS) {
        await t.test(sc.name, async () => runScenario(lab, sc, port++, (l) => t.diagnostic(l)));
      }
      for (const sc of FAILURES) {
        await t.test(sc.name, async () => runFailure(lab, sc, port++, (l) => t.diagnostic(l)));
      }
    },
    { log: (l) => t.diagnostic(l) },
  );
});
