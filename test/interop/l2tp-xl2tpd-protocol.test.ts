/**
 * Interop with real xl2tpd 1.3.18 + pppd 2.4.9 in user-mode-linux guests (../shared/interop):
 *   1. our L2tpLac -> xl2tpd LNS (MS-CHAPv2 + MPPE-128): ICMP echo through the tunnel, hang-up;
 *      again with a tunnel secret, hidden AVPs in our session messages and xl2tpd's userspace
 *      data path (L bit), no MPPE.
 *   2. xl2tpd LAC -> our L2tpLns (tunnel secret, MS-CHAPv2 + MPPE-128): the guest pings our
 *      PPP address, then hangs up (xl2tpd sends StopCCN without CDN).
 * Our side runs as test/protocol/l2tp/interop-driver.js (the protocol layer on a plain UDP socket, no daemon) inside netns ia-lab (UDP 1701 on 198.18.0.1).
 * Needs root; fails (never skips) if the lab cannot start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withLab, LAB_HOST_IP, LAB_NETNS } from './lab.js';

const DRIVER = fileURLToPath(new URL('../protocol/l2tp/interop-driver.js', import.meta.url));

interface Driver {
  child: ChildProcess;
  events: Record<string, unknown>[];
  ready: Promise<void>;
  result: Promise<Record<string, unknown>>;
  stderr: string[];
}

function startDriver(env: Record<string, string>): Driver {
  const child = spawn('ip', ['netns', 'exec', LAB_NETNS, process.execPath, DRIVER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let onReady: () => void = () => {};
  let onResult: (r: Record<string, unknown>) => void = () => {};
  const ready = new Promise<void>((r) => (onReady = r));
  const result = new Promise<Record<string, unknown>>((r) => (onResult = r));
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        events.push(e);
        if (e.event === 'ready') onReady();
        if (e.event === 'result') onResult(e);
      } catch {
        stderr.push(line);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  child.on('exit', (code) => onResult({ event: 'result', ok: false, why: `driver exited with ${code}`, stderr: stderr.join('') }));
  return { child, events, ready, result, stderr };
}

function stopDriver(d: Driver | undefined): void {
  if (d && d.child.exitCode === null && d.child.pid !== undefined) {
    try {
      process.kill(d.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

test('xl2tpd interop: our LAC to xl2tpd LNS, and xl2tpd LAC to our LNS', { timeout: 20 * 60_000 }, async (t) => {
  await withLab(
    async (lab) => {
      // 1. Our LAC -> xl2tpd LNS with MPPE-128.
      await lab.start(['xl2tpd-server'], { mppe: 'require' });
      let d: Driver | undefined;
      try {
        d = startDriver({ CULVERT_L2TP_DRIVER: 'lac', LOCAL: LAB_HOST_IP, SERVER: '198.18.0.10', MPPE: 'yes' });
        await within(d.ready, 15_000, 'driver ready');
        const r = await within(d.result, 60_000, 'LAC run');
        t.diagnostic(`LAC result: ${JSON.stringify({ ...r, log: undefined })}`);
        assert.equal(r.ok, true, JSON.stringify(r));
        const up = d.events.find((e) => e.event === 'up')?.info as { encoding: string; remoteAddress: string; localAddress: string };
        assert.equal(up.encoding, 'MPPE128 stateless');
        assert.equal(up.remoteAddress, '198.19.2.1');
        assert.match(up.localAddress, /^198\.19\.2\.1\d\d$/);
        assert.deepEqual(r.replies, [1, 2, 3], 'xl2tpd\'s kernel answered every ICMP echo through the tunnel');
        assert.deepEqual((r.statuses as string[]).slice(0, 1), ['dialing']);
        assert.ok((r.statuses as string[]).includes('connected'));
        assert.equal(r.tunnelState, 'closed', 'our StopCCN was acknowledged');
        assert.equal((r.endpoint as { internalErrors: number }).internalErrors, 0);
        const pppLog = lab.guestLog('srv', 'pppd-xl2tpd.log');
        assert.match(pppLog, /MPPE 128-bit stateless compression enabled/);
      } finally {
        stopDriver(d);
        await lab.stop('srv');
      }

      // 1b. Our LAC -> xl2tpd LNS with a tunnel secret, hidden AVPs, and xl2tpd's userspace data path (L bit set).
      try {
        await lab.start(['xl2tpd-server'], { mppe: 'none', l2tpKernel: false, l2tpSecret: 'ia-tunnel-s3cret' });
        d = startDriver({ CULVERT_L2TP_DRIVER: 'lac', LOCAL: LAB_HOST_IP, SERVER: '198.18.0.10', MPPE: 'no', SECRET: 'ia-tunnel-s3cret', HIDE: 'yes' });
        await within(d.ready, 15_000, 'driver ready');
        const r = await within(d.result, 60_000, 'LAC run (secret)');
        t.diagnostic(`LAC+secret result: ${JSON.stringify({ ...r, log: undefined })}`);
        assert.equal(r.ok, true, JSON.stringify(r));
        // pppd on xl2tpd's pty path may still be configuring ppp0 when our IPCP is up (the
        // first echo 300 ms later was seen lost once): the later echoes must all come back.
        const replies = r.replies as number[];
        assert.ok(replies.length >= 2 && replies.includes(2) && replies.includes(3), `replies ${JSON.stringify(replies)}`);
        assert.equal(r.tunnelState, 'closed');
      } finally {
        stopDriver(d);
        await lab.stop('srv');
      }

      // 2. xl2tpd LAC -> our LNS, with a tunnel secret.
      let e: Driver | undefined;
      try {
        e = startDriver({ CULVERT_L2TP_DRIVER: 'lns', LOCAL: LAB_HOST_IP, MPPE: 'yes', SECRET: 'ia-tunnel-s3cret' });
        await within(e.ready, 15_000, 'driver ready');
        const g = await lab.start(['xl2tpd-client'], { server: LAB_HOST_IP, mppe: 'require', l2tpSecret: 'ia-tunnel-s3cret' });
        assert.equal(g.links[0]?.remote, '198.19.3.1');
        assert.equal(g.links[0]?.local, '198.19.3.100');
        const ping = await lab.exec('cli', ['ping', '-c', '3', '-W', '2', '198.19.3.1'], 20);
        assert.match(ping.stdout, /3 packets transmitted, 3 (packets )?received/);
        await lab.hangup('cli', 'l2tp');
        const r = await within(e.result, 30_000, 'LNS run');
        t.diagnostic(`LNS result: ${JSON.stringify({ ...r, log: undefined })}`);
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.ok((r.echoes as number) >= 3);
        assert.match(String(r.reason), /StopCCN|terminated by peer/);
        assert.equal((r.endpoint as { internalErrors: number }).internalErrors, 0);
      } finally {
        stopDriver(e);
      }
    },
    { log: (l) => t.diagnostic(l) },
  );
});
