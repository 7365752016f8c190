/**
 * pptp(8) options and statistics on the management plane (issue #5), between two culvert
 * daemons on a routed path: cli has two links to rtr (ether1: the main path, ether2: only
 * reachable through `ip rule fwmark 42`), rtr routes to srv.
 *
 *   srv ether1 198.18.1.1 --- 198.18.1.254 rtr 198.18.2.1 --- 198.18.2.2 ether1 cli
 *                                              198.18.3.1 --- 198.18.3.2 ether2
 *
 * The client runs with routing-mark=42 (the TCP control connection and GRE leave by ether2), src-address=198.18.2.2,
 * add-default-route=yes add-host-route=no, phone-number, reorder-timeout and 2 s echo
 * waits: the tunnel carries traffic, monitor shows the GRE counters, SIGUSR1 logs them,
 * export shows only what differs from the defaults, and a server that stops answering
 * (kill -STOP) loses the call within seconds with the reason in monitor. The server's own
 * echo waits drop a client that stops answering.
 *
 * A second test runs reorder-test-type=3 (pptp(8) --test-type: GRE to the server sent in
 * reverse order, twelve packets at a time) against a culvert server, whose reorder buffer
 * puts every packet back in place: no ping lost, gre-rx-buffered > 0, gre-rx-lost 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Topology, waitOutput, type Machine } from '../io/l2tp/topology.js';
import { waitFor } from '../mgmt/helpers.js';

const GRE_KEYS = [
  'gre-rx-accepted', 'gre-rx-lost', 'gre-rx-under-win', 'gre-rx-over-win', 'gre-rx-buffered', 'gre-rx-errors',
  'gre-rx-truncated', 'gre-rx-invalid', 'gre-rx-acks', 'gre-tx-sent', 'gre-tx-failed', 'gre-tx-short', 'gre-tx-acks',
  'gre-tx-oversize', 'gre-rtt',
];

function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9-]+): (.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}

function txPackets(m: Machine, dev: string): number {
  const j = JSON.parse(m.ip('-s', '-j', 'link', 'show', 'dev', dev)) as { stats64: { tx: { packets: number } } }[];
  return j[0].stats64.tx.packets;
}

function signal(m: Machine, sig: NodeJS.Signals): void {
  const pid = m.daemon?.proc.pid;
  assert.ok(pid, `${m.name} daemon has a PID`);
  process.kill(pid, sig);
}

test('pptp client/server options: routing-mark, src-address, add-host-route=no, phone-number, reorder/echo settings; GRE statistics in monitor and on SIGUSR1; echo time-outs drop a stopped peer', async () => {
  const topo = new Topology('ppo');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'culvert-pptpopt-'));
  const procs: ChildProcess[] = [];
  const stopped: Machine[] = [];
  try {
    const srv = topo.machine('srv');
    const rtr = topo.machine('rtr');
    const cli = topo.machine('cli');
    topo.link(srv, 'ether1', '198.18.1.1/24', rtr, 'ether1', '198.18.1.254/24');
    topo.link(rtr, 'ether2', '198.18.2.1/24', cli, 'ether1', '198.18.2.2/24');
    topo.link(rtr, 'ether3', '198.18.3.1/24', cli, 'ether2', '198.18.3.2/24');
    rtr.forwarding();
    // No IPv6 chatter on cli's links: ether2 then carries only what routing-mark sends there.
    cli.exec('sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
    // GRE from 198.18.2.2 arrives on rtr's ether3: no reverse-path filter in the way.
    for (const k of ['all', 'default', 'ether3']) rtr.exec('sysctl', '-q', '-w', `net.ipv4.conf.${k}.rp_filter=0`);
    srv.ip('route', 'add', '198.18.2.0/24', 'via', '198.18.1.254');
    // The server's network is routed more specifically than the default route the tunnel adds,
    // so add-host-route=no does not loop the tunnel into itself.
    cli.ip('route', 'add', '198.18.1.0/24', 'via', '198.18.2.1', 'dev', 'ether1');
    cli.ip('route', 'add', 'default', 'via', '198.18.2.1', 'metric', '100');
    // pptp(8) --rtmark: marked packets use table 42, whose path to the server is ether2.
    cli.ip('rule', 'add', 'fwmark', '42', 'lookup', '42', 'pref', '100');
    cli.ip('route', 'add', '198.18.1.0/24', 'via', '198.18.3.1', 'dev', 'ether2', 'table', '42');

    await topo.daemon(srv);
    await topo.daemon(cli);
    await srv.cmd('/ppp secret add name=u1 service=pptp password=p1-secret local-address=198.19.0.1 remote-address=198.19.0.2');
    await srv.cmd('/interface pptp-server server set enabled=yes reorder-timeout=0.2 reorder-buffer=no echo-idle-wait=2s echo-max-wait=2s');
    const srvSettings = keyValues(await srv.cmd('/interface pptp-server server print'));
    assert.equal(srvSettings['reorder-timeout'], '200ms');
    assert.equal(srvSettings['reorder-buffer'], 'no');
    assert.equal(srvSettings['echo-idle-wait'], '2s');
    assert.equal(srvSettings['echo-max-wait'], '2s');

    // The Outgoing-Call-Request as the server's wire sees it (pptp(8) --phone).
    const pcap = path.join(tmp, 'ctl.pcap');
    const dump = spawn('ip', ['netns', 'exec', srv.ns, 'tcpdump', '-i', 'ether1', '-n', '-U', '-s', '0', '-w', pcap, 'tcp port 1723'], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(dump);
    let dumpErr = '';
    dump.stderr!.on('data', (d: Buffer) => { dumpErr += d.toString(); });
    await waitFor(() => /listening on/.test(dumpErr), 10000, `tcpdump started (${dumpErr})`);
    // What the client sends to TCP port 1723, per link (pptp(8) --rtmark marks the control connection too).
    const ctlOut: Record<string, { file: string; err: string }> = {};
    for (const dev of ['ether1', 'ether2']) {
      const c = { file: path.join(tmp, `cli-${dev}.pcap`), err: '' };
      ctlOut[dev] = c;
      const p = spawn('ip', ['netns', 'exec', cli.ns, 'tcpdump', '-i', dev, '-Q', 'out', '-n', '-U', '-w', c.file, 'tcp dst port 1723'], { stdio: ['ignore', 'ignore', 'pipe'] });
      procs.push(p);
      p.stderr!.on('data', (d: Buffer) => { c.err += d.toString(); });
      await waitFor(() => /listening on/.test(c.err), 10000, `tcpdump on cli ${dev} started (${c.err})`);
    }
    const ctlPackets = (dev: string): number => {
      const out = cli.exec('tcpdump', '-r', ctlOut[dev].file, '-n');
      return out.split('\n').filter((l) => /> 198\.18\.1\.1\.1723:/.test(l)).length;
    };

    const ether2Before = txPackets(cli, 'ether2');
    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret add-default-route=yes ' +
      'add-host-route=no routing-mark=42 src-address=198.18.2.2 phone-number="555 0123" reorder-timeout=500ms reorder-buffer=yes ' +
      'echo-idle-wait=2s echo-max-wait=2 disabled=no');
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/, 20000);
    assert.equal(cli.ping('198.19.0.1', 5), 5, 'client -> server through the tunnel');
    assert.equal(srv.ping('198.19.0.2', 3), 3, 'server -> client');

    // add-host-route=no: the default route goes into the tunnel, no host route to the server.
    await waitFor(() => /default dev pptp-out1/.test(cli.ip('route')), 5000, 'default route into the tunnel');
    assert.doesNotMatch(cli.ip('route'), /198\.18\.1\.1 via/, 'no host route to the server');
    assert.match(cli.ip('route', 'get', '198.19.77.1'), /dev pptp-out1/);
    // routing-mark=42: the GRE packets and the control connection (from its SYN on) leave by
    // ether2 (table 42); nothing for TCP port 1723 leaves by ether1, the main table's way.
    assert.ok(txPackets(cli, 'ether2') - ether2Before >= 8, `GRE through ether2: ${txPackets(cli, 'ether2') - ether2Before} packets`);
    await waitFor(() => ctlPackets('ether2') >= 4, 5000, 'control connection packets out of ether2');
    assert.equal(ctlPackets('ether1'), 0, 'no control connection packet out of ether1');
    assert.match(cli.exec('tcpdump', '-r', ctlOut.ether2.file, '-n'), /198\.18\.2\.2\.\d+ > 198\.18\.1\.1\.1723: Flags \[S\]/, 'the SYN went by ether2 (marked before connect)');
    const e2 = txPackets(cli, 'ether2');
    assert.equal(cli.ping('198.19.0.1', 20, ['-i', '0.05']), 20);
    assert.ok(txPackets(cli, 'ether2') - e2 >= 20, `20 pings, ${txPackets(cli, 'ether2') - e2} packets out of ether2`);

    // monitor: the pptp(8) STATISTICS, on both ends.
    const mon = keyValues(await cli.cmd('/interface pptp-client monitor pptp-out1 once'));
    for (const k of GRE_KEYS) assert.ok(k in mon, `client monitor has ${k}`);
    assert.ok(Number(mon['gre-rx-accepted']) > 0, `gre-rx-accepted ${mon['gre-rx-accepted']}`);
    assert.ok(Number(mon['gre-tx-sent']) > 0, `gre-tx-sent ${mon['gre-tx-sent']}`);
    assert.match(mon['gre-rtt'], /^\d+ms$/);
    assert.equal(mon['gre-rx-invalid'], '0');
    const smon = keyValues(await waitOutput(srv, '/interface pptp-server monitor [find user=u1] once', /gre-rx-accepted: [1-9]/));
    for (const k of GRE_KEYS) assert.ok(k in smon, `server monitor has ${k}`);
    assert.ok(Number(smon['gre-tx-sent']) > 0);
    assert.equal(smon.status, 'connected');

    // The call outlives several echo rounds (2 s idle wait) while both sides answer.
    const up1 = mon.uptime;
    await new Promise((r) => setTimeout(r, 5000));
    const mon2 = keyValues(await cli.cmd('/interface pptp-client monitor pptp-out1 once'));
    assert.equal(mon2.status, 'connected');
    assert.notEqual(mon2.uptime, up1);
    assert.doesNotMatch(cli.daemon!.stderr(), /terminated/);

    // phone-number went out in the Outgoing-Call-Request.
    await waitFor(() => fs.existsSync(pcap) && fs.readFileSync(pcap).includes(Buffer.from('555 0123')), 5000, 'phone number on the wire');

    // SIGUSR1: one statistics line per call, on both daemons, without secrets.
    signal(cli, 'SIGUSR1');
    signal(srv, 'SIGUSR1');
    await waitFor(() => /statistics pptp-out1 \(client, server 198\.18\.1\.1\): gre-rx-accepted=[1-9]\d* .*gre-tx-sent=[1-9]\d* .*gre-rtt=\d+ms/.test(cli.daemon!.stderr()), 5000, 'client statistics line');
    await waitFor(() => /statistics <pptp-u1> \(server, user u1 from 198\.18\.2\.2\): gre-rx-accepted=[1-9]/.test(srv.daemon!.stderr()), 5000, 'server statistics line');
    assert.equal(cli.daemon!.proc.exitCode, null, 'SIGUSR1 does not end the daemon');
    assert.equal(srv.daemon!.proc.exitCode, null);
    for (const m of [cli, srv]) assert.ok(!m.daemon!.stderr().includes('p1-secret'), 'no password in the log');

    // export: only what differs from the defaults (reorder-buffer=yes is the default).
    const exp = await cli.cmd('/interface pptp-client export');
    assert.match(exp, /reorder-timeout=500ms/);
    assert.match(exp, /echo-idle-wait=2s echo-max-wait=2s/);
    assert.match(exp, /add-host-route=no routing-mark=42 src-address=198\.18\.2\.2 phone-number="555 0123"/);
    assert.doesNotMatch(exp, /reorder-buffer/);
    const sexp = await srv.cmd('/interface pptp-server server export');
    assert.match(sexp, /reorder-timeout=200ms reorder-buffer=no echo-idle-wait=2s echo-max-wait=2s/);
    assert.match(await cli.cmd('/interface pptp-client print detail'), /routing-mark=42/);

    // The server stops answering (kill -STOP): after at most idle-wait + max-echo-wait the
    // client drops the call, and monitor says why (before the 60 s LCP keepalive would).
    signal(srv, 'SIGSTOP');
    stopped.push(srv);
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "terminated - no Echo-Reply within 2 s/, 12000);
    await waitFor(() => /pptp-out1: terminated: no Echo-Reply within 2 s/.test(cli.daemon!.stderr()), 5000, `cli log matches ${String(/pptp-out1: terminated: no Echo-Reply within 2 s/)}`);
    await waitFor(() => !/default dev pptp-out1/.test(cli.ip('route')), 5000, 'tunnel routes gone');
    signal(srv, 'SIGCONT');
    stopped.pop();

    // ...and the other way round: the server's 2 s echo waits drop a client that stopped.
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/, 30000);
    await waitOutput(srv, '/ppp active print', /u1/);
    signal(cli, 'SIGSTOP');
    stopped.push(cli);
    await waitFor(() => /u1 from 198\.18\.2\.2 disconnected: no Echo-Reply within 2 s/.test(srv.daemon!.stderr()), 12000, `server drops the stopped client:\n${srv.daemon!.stderr().slice(-2000)}`);
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*u1)/, 10000);
    signal(cli, 'SIGCONT');
    stopped.pop();

    // End the daemons by PID (SIGTERM): both exit cleanly.
    assert.equal(await cli.daemon!.stop(), 0);
    cli.daemon = undefined;
    cli.console?.close();
    cli.console = undefined;
    assert.equal(await srv.daemon!.stop(), 0);
    srv.daemon = undefined;
    srv.console?.close();
    srv.console = undefined;
  } finally {
    for (const m of stopped) try { process.kill(m.daemon!.proc.pid!, 'SIGCONT'); } catch { /* gone */ }
    for (const p of procs) if (p.exitCode === null && p.pid) try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
    await topo.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('reorder-test-type=3 (pptp(8) --test-type): the client sends GRE in reverse order on purpose; the server puts it back, nothing lost', async (t) => {
  const topo = new Topology('ppr');
  try {
    const srv = topo.machine('srv');
    const cli = topo.machine('cli');
    topo.link(srv, 'ether1', '198.18.1.1/24', cli, 'ether1', '198.18.1.2/24');
    await topo.daemon(srv);
    await topo.daemon(cli);
    await srv.cmd('/ppp secret add name=u1 service=pptp password=p1-secret local-address=198.19.0.1 remote-address=198.19.0.2');
    await srv.cmd('/interface pptp-server server set enabled=yes');
    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret reorder-test-type=3 reorder-test-rate=20 disabled=no');
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/, 20000);
    assert.match(await cli.cmd('/interface pptp-client export'), /reorder-test-type=3 reorder-test-rate=20/);
    // 200 echo requests, 10 ms apart: a test (12 packets reversed) after every 20 in order.
    assert.equal(cli.ping('198.19.0.1', 200, ['-i', '0.01']), 200, 'no ping lost');
    const smon = keyValues(await srv.cmd('/interface pptp-server monitor [find user=u1] once'));
    t.diagnostic(`server: ${['gre-rx-accepted', 'gre-rx-buffered', 'gre-rx-lost', 'gre-rx-under-win'].map((k) => `${k}=${smon[k]}`).join(' ')}`);
    assert.equal(smon['gre-rx-lost'], '0', `server gre-rx-lost (monitor: ${JSON.stringify(smon)})`);
    // Each reversed run of twelve leaves eleven packets waiting for the first of the run.
    assert.ok(Number(smon['gre-rx-buffered']) >= 11 * 5, `server gre-rx-buffered ${smon['gre-rx-buffered']}`);
    assert.equal(smon['gre-rx-under-win'], '0');
    assert.ok(Number(smon['gre-rx-accepted']) >= 200);
    const cmon = keyValues(await cli.cmd('/interface pptp-client monitor pptp-out1 once'));
    assert.equal(cmon['gre-tx-failed'], '0');
    assert.equal(cmon['gre-rx-lost'], '0', 'the server sends in order');
    assert.equal(cmon['gre-rx-buffered'], '0');
  } finally {
    await topo.destroy();
  }
});
