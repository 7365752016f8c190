/**
 * culvert LAC daemon <-> culvert LNS daemon, each in its own namespace, joined by a veth
 * (client 198.18.1.2, server 198.18.1.1), configured only with console commands. Traffic
 * runs through real TUNs (`l2tp-out1` on the client, `<l2tp-u1>` on the server).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Topology, waitOutput, type Machine } from '../io/l2tp/topology.js';
import { nsFetch, waitFor } from '../mgmt/helpers.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

async function pair(tag: string, restPort?: number): Promise<{ topo: Topology; srv: Machine; cli: Machine }> {
  const topo = new Topology(tag);
  try {
    const srv = topo.machine('srv');
    const cli = topo.machine('cli');
    topo.link(srv, 'ether1', '198.18.1.1/24', cli, 'ether1', '198.18.1.2/24');
    await topo.daemon(srv, restPort);
    await topo.daemon(cli);
    await srv.cmd('/ip pool add name=l2tp-pool ranges=198.19.10.10-198.19.10.50');
    await srv.cmd('/ppp profile add name=l2tp-prof local-address=198.19.10.1 remote-address=l2tp-pool use-encryption=yes');
    await srv.cmd('/ppp secret add name=u1 password=p1-secret service=l2tp profile=l2tp-prof');
    await srv.cmd('/interface l2tp-server server set enabled=yes');
    return { topo, srv, cli };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

test('daemons: connect, ping, iperf3, monitor, /ppp active, metrics, hang-up from the client and from the server', async () => {
  const { topo, srv, cli } = await pair('d', 18728);
  const procs: ChildProcess[] = [];
  try {
    await cli.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    const mon = await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    assert.match(mon, /encoding: "?MPPE128/);
    assert.match(mon, /local-address: 198\.19\.10\.10/);
    assert.match(mon, /remote-address: 198\.19\.10\.1\b/);
    assert.match(await cli.cmd('/interface l2tp-client print'), /R name="?l2tp-out1/);
    const active = await waitOutput(srv, '/ppp active print', /u1/);
    assert.match(active, /l2tp/);
    assert.match(active, /198\.19\.10\.10/);
    assert.match(await srv.cmd('/interface l2tp-server print'), /<l2tp-u1>/);
    assert.match(srv.ip('-o', 'link', 'show'), /<l2tp-u1>/, 'the server made the TUN <l2tp-u1>');

    assert.equal(cli.ping('198.19.10.1', 5), 5, 'client -> server through the tunnel');
    assert.equal(srv.ping('198.19.10.10', 3), 3, 'server -> client');

    const iperfSrv = spawn('ip', ['netns', 'exec', srv.ns, 'iperf3', '-s', '-1', '-B', '198.19.10.1'], { stdio: 'ignore' });
    procs.push(iperfSrv);
    await new Promise((r) => setTimeout(r, 400));
    const j = JSON.parse(cli.exec('timeout', '30', 'iperf3', '-c', '198.19.10.1', '-t', '2', '-J')) as { end: { sum_received: { bytes: number } } };
    assert.ok(j.end.sum_received.bytes > 100_000, `iperf3 moved ${j.end.sum_received.bytes} bytes`);

    // /metrics from inside the server's namespace.
    const token = fs.readFileSync(path.join(srv.daemon!.dataDir, 'rest-token'), 'utf8').trim();
    const m = nsFetch({ name: srv.ns } as never, 'GET', 'http://127.0.0.1:18728/metrics', token);
    assert.equal(m.status, 200);
    assert.match(m.text, /culvert_tunnel_up\{[^}]*interface="<l2tp-u1>"[^}]*\} 1/);
    const rx = /culvert_tunnel_rx_bytes_total\{[^}]*interface="<l2tp-u1>"[^}]*\} (\d+)/.exec(m.text);
    assert.ok(rx && Number(rx[1]) > 100_000, 'bytes counted');
    assert.match(m.text, /culvert_server_sessions\{service="l2tp"\} 1/);

    // Hang-up from the client: disable.
    await cli.cmd('/interface l2tp-client disable l2tp-out1');
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*u1)/);
    await waitFor(() => !/<l2tp-u1>/.test(srv.ip('-o', 'link', 'show')), 10000, 'server TUN <l2tp-u1> removed');

    // Reconnect, then hang-up from the server: /ppp active remove; the client redials.
    await cli.cmd('/interface l2tp-client enable l2tp-out1');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    await waitOutput(srv, '/ppp active print', /u1/);
    const ends = () => (cli.daemon!.stderr().match(/l2tp-out1: terminated:/g) ?? []).length;
    const before = ends();
    await srv.cmd('/ppp active remove [find name=u1]');
    // The client notices (its status passes terminated/dialing too fast to poll reliably).
    await waitFor(() => ends() > before, 10000, 'client saw the server hang up');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 20000);
    // The interfaces are configured right after PPP reports up: wait for the first echo.
    await waitFor(() => cli.ping('198.19.10.1', 1) === 1, 15000, `traffic after the redial; server log:\n${srv.daemon!.stderr().slice(-2500)}`);
    assert.equal(cli.ping('198.19.10.1', 2), 2, 'traffic again after the redial');
  } finally {
    for (const p of procs) if (p.exitCode === null && p.pid) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    await topo.destroy();
  }
});

test('daemons: wrong password is refused and counted; use-ipsec=required refuses instead of going cleartext', async () => {
  const { topo, srv, cli } = await pair('f', 18729);
  try {
    await cli.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=wrong disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?terminated/, 20000);
    const token = fs.readFileSync(path.join(srv.daemon!.dataDir, 'rest-token'), 'utf8').trim();
    const m = nsFetch({ name: srv.ns } as never, 'GET', 'http://127.0.0.1:18729/metrics', token);
    const f = /culvert_auth_failures_total\{service="l2tp"\} (\d+)/.exec(m.text);
    assert.ok(f && Number(f[1]) >= 1, 'auth failure counted');

    await cli.cmd('/interface l2tp-client set l2tp-out1 password=p1-secret');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 30000);

    await srv.cmd('/interface l2tp-server server set use-ipsec=required ipsec-secret=not-used-yet');
    await waitFor(() => /IPsec is not implemented yet/.test(srv.daemon!.stderr()), 5000, `srv log matches ${String(/IPsec is not implemented yet/)}`);
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?(terminated|dialing)/, 15000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.doesNotMatch(await cli.cmd('/interface l2tp-client monitor l2tp-out1 once'), /status: "?connected/, 'no cleartext connection while IPsec is required');
    assert.doesNotMatch(srv.daemon!.stderr(), /not-used-yet/, 'the ipsec-secret is never logged');
  } finally {
    await topo.destroy();
  }
});

test('daemons: add-default-route with distance pins a host route to the server; dial-on-demand dials on the first packet', async () => {
  const { topo, srv, cli } = await pair('r');
  try {
    // The server's address is behind a gateway from the client's point of view.
    srv.ip('addr', 'add', '198.18.9.1/32', 'dev', 'lo');
    cli.ip('route', 'add', '198.18.9.0/24', 'via', '198.18.1.1');
    await srv.cmd('/ppp secret add name=u2 password=p2-secret service=l2tp profile=l2tp-prof');

    await cli.cmd('/interface l2tp-client add name=l2tp-def connect-to=198.18.9.1 user=u1 password=p1-secret add-default-route=yes default-route-distance=5 disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-def once', /status: "?connected/);
    await waitFor(() => /default dev l2tp-def .*metric 5/.test(cli.ip('route', 'show', 'default')), 10000, `default route: ${cli.ip('route', 'show')}`);
    assert.match(cli.ip('route', 'show', '198.18.9.1'), /198\.18\.9\.1 via 198\.18\.1\.1/, 'host route to the server via the old gateway');
    assert.equal(cli.ping('198.19.10.1', 2), 2);
    await cli.cmd('/interface l2tp-client disable l2tp-def');
    await waitFor(() => !/l2tp-def/.test(cli.ip('route', 'show')), 10000, 'routes removed on disable');
    assert.doesNotMatch(cli.ip('route', 'show'), /198\.18\.9\.1 via/, 'host route removed');

    await cli.cmd('/interface l2tp-client add name=l2tp-dod connect-to=198.18.9.1 user=u2 password=p2-secret dial-on-demand=yes disabled=no');
    await waitFor(() => /l2tp-dod/.test(cli.ip('-o', 'link', 'show')), 10000, 'TUN made while waiting');
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(await cli.cmd('/interface l2tp-client monitor l2tp-dod once'), /status: "?connected/, 'no call before traffic');
    assert.doesNotMatch(await srv.cmd('/ppp active print'), /u2/);
    cli.ip('route', 'add', '198.19.10.1/32', 'dev', 'l2tp-dod');
    cli.ping('198.19.10.1', 1);
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-dod once', /status: "?connected/, 20000);
    await waitFor(() => cli.ping('198.19.10.1', 1) === 1, 15000, 'traffic after dialing on demand');
    assert.match(await srv.cmd('/ppp active print'), /u2/);
  } finally {
    await topo.destroy();
  }
});

test('daemons: 20 l2tp-clients in one daemon (20 tunnels on one UDP socket) to one server, each passing its own traffic', async () => {
  const { topo, srv, cli } = await pair('m');
  try {
    const N = 20;
    for (let i = 1; i <= N; i++) await srv.cmd(`/ppp secret add name=c${i} password=pw-${i} service=l2tp profile=l2tp-prof`);
    for (let i = 1; i <= N; i++) await cli.cmd(`/interface l2tp-client add name=l2tp-c${i} connect-to=198.18.1.1 user=c${i} password=pw-${i} disabled=no`);
    await waitFor(async () => ((await srv.cmd('/ppp active print')).match(/\bc\d+\b/g) ?? []).length >= N, 60000, 'all 20 sessions up on the server');
    for (let i = 1; i <= N; i++) await waitOutput(cli, `/interface l2tp-client monitor l2tp-c${i} once`, /status: "?connected/);
    // Each session by its own interface (SO_BINDTODEVICE): the echo must cross that tunnel.
    for (let i = 1; i <= N; i++) {
      await waitFor(() => cli.ping('198.19.10.1', 1, ['-I', `l2tp-c${i}`]) === 1, 15000, `echo through l2tp-c${i}`);
    }
    // One hang-up leaves the other 19 alone.
    await cli.cmd('/interface l2tp-client disable l2tp-c1');
    await waitFor(async () => ((await srv.cmd('/ppp active print')).match(/\bc\d+\b/g) ?? []).length === N - 1, 15000, '19 sessions left');
    assert.equal(cli.ping('198.19.10.1', 2, ['-I', 'l2tp-c20']), 2);
  } finally {
    await topo.destroy();
  }
});

test('daemons: keepalive-timeout notices a server that went silent; the client redials', async () => {
  const { topo, srv, cli } = await pair('k');
  const pid = srv.daemon!.proc.pid!;
  let stopped = false;
  try {
    await cli.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret keepalive-timeout=2 disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    process.kill(pid, 'SIGSTOP'); // the server stops answering anything
    stopped = true;
    const mon = await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?(terminated|dialing)/, 30000);
    void mon;
    await waitFor(() => /l2tp-out1: terminated: .*(echo|not responding)/i.test(cli.daemon!.stderr()), 5000, `cli log matches ${String(/l2tp-out1: terminated: .*(echo|not responding)/i)}`);
    process.kill(pid, 'SIGCONT');
    stopped = false;
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 60000);
  } finally {
    if (stopped) process.kill(pid, 'SIGCONT');
    await topo.destroy();
  }
});

test('daemons: bad input at the live server from a third port is answered (StopCCN/CDN with result codes) or dropped and counted; the running session keeps passing traffic', async () => {
  const { topo, srv, cli } = await pair('b', 18730);
  const procs: ChildProcess[] = [];
  try {
    await cli.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    await waitFor(() => cli.ping('198.19.10.1', 1) === 1, 10000, 'first echo');
    // The misbehaving peer: the io test fixture, in the client's namespace, UDP port 1702.
    const { Child } = await import('../io/helpers/netns.js');
    const fx = new Child(spawn('ip', ['netns', 'exec', cli.ns, process.execPath, new URL('../io/l2tp/fixtures/node.js', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CULVERT_FIXTURE: '1' } }));
    procs.push(fx.proc);
    const bg = new Promise<string>((resolve) => {
      const p = spawn('ip', ['netns', 'exec', cli.ns, 'ping', '-n', '-c', '30', '-i', '0.25', '-W', '2', '198.19.10.1'], { stdio: ['ignore', 'pipe', 'ignore'] });
      procs.push(p);
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', () => resolve(out));
    });
    const bad = async (c: string) => (await fx.call({ cmd: 'bad', case: c, local: '198.18.1.2', server: '198.18.1.1', avoidTunnels: [] }, 30_000)) as any;
    let r = await bad('truncated');
    assert.equal(r.tunnelState, 'established');
    r = await bad('overrun');
    assert.deepEqual([r.down?.result?.resultCode, r.down?.result?.errorCode], [2, 2], 'StopCCN general error / bad length');
    r = await bad('unknownMandatory');
    assert.deepEqual([r.down?.result?.resultCode, r.down?.result?.errorCode], [2, 8], 'StopCCN general error / unknown mandatory AVP');
    r = await bad('sessionUnknownMandatory');
    assert.deepEqual([r.sessionDown?.result?.resultCode, r.sessionDown?.result?.errorCode], [2, 8], 'CDN for that session only');
    assert.equal(r.tunnelState, 'established');
    r = await bad('nsWindow');
    assert.equal(r.tunnelState, 'established', 'a StopCCN outside the window is not processed');
    r = await bad('unknownIds');
    assert.equal(r.tunnelState, 'established');

    const out = await bg;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    assert.ok(received >= 28, `the good session kept passing traffic: ${received}/30`);
    assert.match(await cli.cmd('/interface l2tp-client monitor l2tp-out1 once'), /status: "?connected/);

    const token = fs.readFileSync(path.join(srv.daemon!.dataDir, 'rest-token'), 'utf8').trim();
    const m = nsFetch({ name: srv.ns } as never, 'GET', 'http://127.0.0.1:18730/metrics', token).text;
    const drop = (reason: string) => Number(new RegExp(`culvert_drops_total\\{[^}]*interface="l2tp-server"[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(m)?.[1] ?? 0);
    assert.ok(drop('l2tp_header_L2TP_ERR_TRUNCATED') >= 2, 'truncated headers counted');
    assert.ok(drop('l2tp_header_L2TP_ERR_VERSION_L2F') >= 1, 'L2F counted');
    assert.ok(drop('l2tp_nsOutOfWindow') >= 1, 'Ns outside the window counted');
    assert.ok(drop('l2tp_unknownTunnel') >= 2, 'unknown tunnel counted');
    assert.ok(drop('l2tp_unknownSession') >= 1, 'unknown session counted');
  } finally {
    for (const p of procs) if (p.exitCode === null && p.pid) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    await topo.destroy();
  }
});

test('daemons: a static /interface l2tp-server entry names the user\'s interface; the same user again gets a dynamic one', async () => {
  const { topo, srv, cli } = await pair('s');
  try {
    await srv.cmd('/interface l2tp-server add name=l2tp-hm user=u1');
    await cli.cmd('/interface l2tp-client add name=l2tp-a connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-a once', /status: "?connected/);
    await waitFor(() => /: l2tp-hm:/.test(srv.ip('-o', 'link', 'show')), 10000, 'static interface l2tp-hm');
    await waitOutput(srv, '/interface l2tp-server print', /R\s+l2tp-hm\s+u1/);
    await cli.cmd('/interface l2tp-client add name=l2tp-b connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-b once', /status: "?connected/);
    await waitFor(() => /<l2tp-u1>/.test(srv.ip('-o', 'link', 'show')), 10000, 'dynamic <l2tp-u1> for the second call');
    const pr = await srv.cmd('/interface l2tp-server print');
    assert.match(pr, /DR\s+<l2tp-u1>\s+u1/);
    assert.equal(cli.ping('198.19.10.1', 2, ['-I', 'l2tp-a']), 2);
    assert.equal(cli.ping('198.19.10.1', 2, ['-I', 'l2tp-b']), 2);
  } finally {
    await topo.destroy();
  }
});

test('daemons: the server switched off and straight back on (while its old tunnel says goodbye) serves the client again', async () => {
  const { topo, srv, cli } = await pair('re');
  try {
    await cli.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    await srv.cmd('/interface l2tp-server server set enabled=no');
    await srv.cmd('/interface l2tp-server server set enabled=yes');
    assert.match(await srv.cmd('/interface l2tp-server server print'), /enabled: yes/);
    // The client loses its tunnel, redials with back-off and gets in again.
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?(terminated|dialing|verifying)/, 20000);
    await waitOutput(srv, '/ppp active print', /u1/, 30000);
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 30000);
    assert.ok(cli.ping('198.19.10.1', 3) >= 2, 'traffic passes again');
  } finally {
    await topo.destroy();
  }
});
