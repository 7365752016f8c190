/**
 * culvert PPTP client daemon <-> culvert PPTP server daemon, each in its own namespace,
 * joined by a veth (server 198.18.1.1, client 198.18.1.2), configured only with console
 * commands. Traffic runs through real TUNs (`pptp-out1`, `<pptp-u1>`), MPPE-128.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Topology, waitOutput, type Machine } from '../io/l2tp/topology.js';
import { nsFetch, waitFor } from '../mgmt/helpers.js';

const REST = 18729;
const REST_D = 18730;

async function pair(tag: string, rest = REST, serverExtra = ''): Promise<{ topo: Topology; srv: Machine; cli: Machine }> {
  const topo = new Topology(`pp${tag}`);
  try {
    const srv = topo.machine('srv');
    const cli = topo.machine('cli');
    topo.link(srv, 'ether1', '198.18.1.1/24', cli, 'ether1', '198.18.1.2/24');
    await topo.daemon(srv, rest);
    await topo.daemon(cli);
    await srv.cmd('/ppp secret add name=u1 service=pptp password=p1-secret local-address=198.19.0.1 remote-address=198.19.0.2 routes="198.19.50.0/24"');
    await srv.cmd(`/interface pptp-server server set enabled=yes ${serverExtra}`.trim());
    return { topo, srv, cli };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

async function connectClient(cli: Machine, extra = ''): Promise<string> {
  await cli.cmd(`/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no ${extra}`.trim());
  return waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/);
}

function metrics(srv: Machine, rest = REST): string {
  const token = fs.readFileSync(path.join(srv.daemon!.dataDir, 'rest-token'), 'utf8').trim();
  const m = nsFetch({ name: srv.ns } as never, 'GET', `http://127.0.0.1:${rest}/metrics`, token);
  assert.equal(m.status, 200);
  return m.text;
}

function metric(text: string, re: RegExp): number {
  let sum = 0;
  for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.split(' ').pop());
  return sum;
}

test('pptp daemons: connect, monitor, print rows, ping both ways, iperf3 over MPPE-128, metrics, hang-up from either side', async () => {
  const { topo, srv, cli } = await pair('a');
  const procs: ChildProcess[] = [];
  try {
    const mon = await connectClient(cli, 'add-default-route=yes default-route-distance=5');
    assert.match(mon, /encoding: "MPPE128 stateless"/);
    // With MPPE the Link gives 4 octets of the peer's MRU to the MPPE header (as pppd does).
    const mtu = Number(/mtu: (\d+)/.exec(mon)?.[1]);
    assert.ok(mtu >= 1450 && mtu <= 1460, `mtu ${mtu}`);
    assert.match(cli.ip('link', 'show', 'dev', 'pptp-out1'), new RegExp(`mtu ${mtu}\\b`), 'the TUN has the negotiated MTU');
    assert.match(mon, /mru: 1460/);
    assert.match(mon, /local-address: 198\.19\.0\.2\b/);
    assert.match(mon, /remote-address: 198\.19\.0\.1\b/);
    assert.match(mon, /uptime: \d/);
    assert.match(mon, /idle-time: \d/);
    assert.match(await cli.cmd('/interface pptp-client print'), /\d+\s+R name="pptp-out1"/);

    const active = await waitOutput(srv, '/ppp active print', /u1\s+pptp\s+198\.18\.1\.2\s+198\.19\.0\.2/);
    assert.match(active, /MPPE128 stateless/);
    const ifs = await waitOutput(srv, '/interface pptp-server print', /<pptp-u1>/);
    assert.match(ifs, /DR <pptp-u1>\s+u1\s+14\d\d\s+198\.18\.1\.2\s+\S+\s+MPPE128 stateless/);
    assert.match(srv.ip('-o', 'link', 'show'), /<pptp-u1>/);
    // The secret's routes= is installed while connected; the client's default route has distance 5.
    await waitFor(() => /198\.19\.50\.0\/24 dev <pptp-u1>/.test(srv.ip('route')), 5000, 'secret route');
    await waitFor(() => /default dev pptp-out1 .*metric 5/.test(cli.ip('route')), 5000, 'client default route');
    // ...and /ip route shows them as dynamic routes.
    assert.match(await waitOutput(srv, '/ip route print', /198\.19\.50\.0\/24/), /D.*198\.19\.50\.0\/24\s+<pptp-u1>/);
    assert.match(await waitOutput(cli, '/ip route print', /0\.0\.0\.0\/0/), /D.*0\.0\.0\.0\/0\s+pptp-out1\s+5/);

    assert.equal(cli.ping('198.19.0.1', 5), 5, 'client -> server through the tunnel');
    assert.equal(srv.ping('198.19.0.2', 3), 3, 'server -> client');

    const iperfSrv = spawn('ip', ['netns', 'exec', srv.ns, 'iperf3', '-s', '-1', '-B', '198.19.0.1'], { stdio: 'ignore' });
    procs.push(iperfSrv);
    await new Promise((r) => setTimeout(r, 400));
    const j = JSON.parse(cli.exec('timeout', '30', 'iperf3', '-c', '198.19.0.1', '-t', '2', '-J')) as { end: { sum_received: { bytes: number } } };
    assert.ok(j.end.sum_received.bytes > 100_000, `iperf3 moved ${j.end.sum_received.bytes} bytes`);

    const m = metrics(srv);
    assert.match(m, /culvert_tunnel_up\{[^}]*interface="<pptp-u1>"[^}]*\} 1/);
    assert.ok(metric(m, /^culvert_tunnel_rx_bytes_total\{[^}]*interface="<pptp-u1>"/) > 100_000, 'bytes counted');
    assert.match(m, /culvert_server_sessions\{service="pptp"\} 1/);
    assert.ok(metric(m, /^culvert_pptp_gre_total\{[^}]*counter="rx_accepted"/) > 100, 'pptp(8) GRE counters');

    // Hang-up from the client: disable. Everything both sides added goes.
    await cli.cmd('/interface pptp-client disable pptp-out1');
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*u1)/);
    await waitFor(() => !/<pptp-u1>/.test(srv.ip('-o', 'link', 'show')), 10000, 'server TUN removed');
    assert.doesNotMatch(srv.ip('route'), /198\.19\.50\.0/);
    await waitFor(() => !/pptp-out1/.test(cli.ip('-o', 'link', 'show')), 10000, 'client TUN removed');
    assert.doesNotMatch(cli.ip('route'), /default/);
    // The daemon's stderr is read by this event loop, which the blocking ip calls above held up.
    await waitFor(() => /u1 from 198\.18\.1\.2 disconnected/.test(srv.daemon!.stderr()), 5000, 'server logged the disconnect');

    // Hang-up from the server: /ppp active remove. The server side is cleaned up before the client redials.
    await cli.cmd('/interface pptp-client enable pptp-out1');
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/);
    await waitOutput(srv, '/ppp active print', /u1/);
    await waitFor(() => /198\.19\.50\.0/.test(srv.ip('route')), 5000, 'secret route again');
    await srv.cmd('/ppp active remove [find name=u1]');
    let cleaned = false;
    await waitFor(async () => {
      const r = srv.ip('route');
      if (!/198\.19\.50\.0/.test(r) && !/<pptp-u1>/.test(srv.ip('-o', 'link', 'show'))) cleaned = true;
      return cleaned;
    }, 10000, 'server cleaned up after /ppp active remove');
    await waitFor(() => /terminated: .*(administrator|disconnect)/i.test(cli.daemon!.stderr()), 5000, `cli log matches ${String(/terminated: .*(administrator|disconnect)/i)}`);
    // ...and the client redials by itself (back-off 1 s).
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/, 20000);
    await waitFor(() => cli.ping('198.19.0.1', 1) === 1, 15000, 'traffic after the redial');
  } finally {
    for (const p of procs) if (p.exitCode === null && p.pid) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    await topo.destroy();
  }
});

test('pptp daemons: a vanished peer is found by LCP echo ("LCP missed echo reply") on both sides', async () => {
  const { topo, srv, cli } = await pair('b', REST, 'keepalive-timeout=2');
  try {
    await connectClient(cli, 'keepalive-timeout=2');
    await waitOutput(srv, '/ppp active print', /u1/);
    assert.equal(cli.ping('198.19.0.1', 2), 2);
    // Drop the wire: neither side can say goodbye.
    srv.ip('link', 'set', 'ether1', 'down');
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*u1)/, 30000);
    await waitFor(() => /LCP missed echo reply/.test(srv.daemon!.stderr()), 5000, `srv log matches ${String(/LCP missed echo reply/)}`);
    await waitFor(() => /pptp-out1: terminated: LCP missed echo reply/.test(cli.daemon!.stderr()), 30000, `client detects; log:\n${cli.daemon!.stderr().slice(-2000)}`);
    await waitFor(() => !/<pptp-u1>/.test(srv.ip('-o', 'link', 'show')), 10000, 'server TUN removed');
    // Wire back: the client redials on its own.
    srv.ip('link', 'set', 'ether1', 'up');
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/, 90000);
    await waitOutput(srv, '/ppp active print', /u1/);
    // The client daemon dies outright (kill -9): the server finds out by keepalive.
    await cli.daemon!.kill9();
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*u1)/, 30000);
    assert.ok((srv.daemon!.stderr().match(/LCP missed echo reply/g) ?? []).length >= 2);
  } finally {
    await topo.destroy();
  }
});

/** Bad control and GRE input from the client's namespace, sent with a raw socket (python3, root). */
const BAD_INPUT_PY = String.raw`
import socket, struct, sys, time
srv = sys.argv[1]
def tcp(data, close_wait=0.3):
    s = socket.create_connection((srv, 1723), timeout=3)
    s.sendall(data)
    time.sleep(close_wait)
    try:
        s.recv(4096)
    except Exception:
        pass
    s.close()
MAGIC = 0x1A2B3C4D
# wrong magic cookie
tcp(struct.pack('!HHIHH', 16, 1, 0xDEADBEEF, 1, 0) + b'\0' * 4)
# oversized length field
tcp(struct.pack('!HHIHH', 0xFFFF, 1, MAGIC, 1, 0) + b'\0' * 100)
# truncated: header promises 156 octets (SCCRQ), the peer sends 20 and goes
tcp(struct.pack('!HHIHH', 156, 1, MAGIC, 1, 0) + b'\0' * 8, 0.1)
# unknown control message type
tcp(struct.pack('!HHIHH', 16, 1, MAGIC, 99, 0) + b'\0' * 4)
# GRE: wrong version (plain GRE), wrong protocol, unknown Call ID, payload length beyond the packet
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
bad = [
    struct.pack('!HH', 0x0000, 0x0800) + b'\0' * 20,
    struct.pack('!HHHHI', 0x3001, 0x0800, 4, 7, 1) + b'abcd',
    struct.pack('!HHHHI', 0x3001, 0x880B, 4, 54321, 1) + b'abcd',
    struct.pack('!HHHHI', 0x3001, 0x880B, 1400, 54322, 1) + b'abcd',
    b'\x30',
]
for b in bad:
    for _ in range(5):
        r.sendto(b, (srv, 0))
print('sent')
`;

test('pptp server: bad control and GRE input while a session runs is dropped and counted; the session keeps passing traffic', async () => {
  const { topo, srv, cli } = await pair('c');
  try {
    await connectClient(cli);
    await waitOutput(srv, '/ppp active print', /u1/);
    assert.equal(cli.ping('198.19.0.1', 2), 2);
    const before = metrics(srv);
    const pinger = spawn('ip', ['netns', 'exec', cli.ns, 'ping', '-n', '-c', '20', '-i', '0.2', '198.19.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let pingOut = '';
    pinger.stdout!.setEncoding('utf8');
    pinger.stdout!.on('data', (d: string) => { pingOut += d; });
    const out = execFileSync('ip', ['netns', 'exec', cli.ns, 'python3', '-c', BAD_INPUT_PY, '198.18.1.1'], { encoding: 'utf8' });
    assert.match(out, /sent/);
    await new Promise<void>((r) => pinger.once('exit', () => r()));
    const received = Number(/(\d+) received/.exec(pingOut)?.[1] ?? 0);
    assert.ok(received >= 18, `the session kept passing traffic during the bad input (${received}/20)`);
    assert.match(await srv.cmd('/ppp active print'), /u1/, 'session still up');
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/);

    const after = metrics(srv);
    const d = (re: RegExp) => metric(after, re) - metric(before, re);
    assert.ok(d(/^culvert_drops_total\{[^}]*reason="control_stream_broken"/) >= 2, 'broken control streams counted');
    assert.ok(d(/^culvert_drops_total\{[^}]*reason="control_unknown_type"/) >= 1, 'unknown control message counted');
    const greDrops = d(/^culvert_drops_total\{[^}]*reason="(gre_no_call|gre_invalid|gre_wrong_peer|ip_malformed)"/);
    assert.ok(greDrops >= 20, `bad GRE packets counted (${greDrops})`);
    assert.equal(cli.ping('198.19.0.1', 3), 3, 'still passing traffic afterwards');
  } finally {
    await topo.destroy();
  }
});

test('pptp server: static /interface pptp-server entry, pool address given back on hang-up, only-one, wrong password counted', async () => {
  const { topo, srv, cli } = await pair('d', REST_D);
  try {
    const cli2 = topo.machine('cli2');
    topo.link(srv, 'ether2', '198.18.3.1/24', cli2, 'ether1', '198.18.3.2/24');
    await topo.daemon(cli2);
    await srv.cmd('/ip pool add name=pp ranges=198.19.10.10-198.19.10.10');
    await srv.cmd('/ppp profile add name=pprof local-address=198.19.10.1 remote-address=pp only-one=yes use-encryption=required');
    await srv.cmd('/ppp secret add name=u2 password=p2-secret service=pptp profile=pprof');
    await srv.cmd('/interface pptp-server add name=static-u2 user=u2');

    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u2 password=p2-secret disabled=no');
    const mon = await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/);
    assert.match(mon, /local-address: 198\.19\.10\.10\b/);
    assert.match(mon, /encoding: "MPPE128 stateless"/);
    const ifs = await waitOutput(srv, '/interface pptp-server print', /\bR\s+static-u2/);
    assert.match(ifs, /\bR\s+static-u2\s+u2\s+\d+\s+198\.18\.1\.2\s+\S+\s+MPPE128/, 'the static entry runs');
    assert.doesNotMatch(ifs, /<pptp-u2>/, 'no dynamic entry for a user with a static one');
    assert.match(srv.ip('-o', 'link', 'show'), /static-u2/);
    assert.equal(cli.ping('198.19.10.1', 2), 2);

    // Wrong password from a second machine: refused and counted.
    await cli2.cmd('/interface pptp-client add connect-to=198.18.3.1 user=u2 password=wrong disabled=no');
    await waitFor(() => metric(metrics(srv, REST_D), /^culvert_auth_failures_total\{service="pptp"\}/) >= 1, 15000, 'auth failure counted');
    // Right password, but only-one=yes (and the one-address pool is taken): still refused.
    await cli2.cmd('/interface pptp-client set [find] password=p2-secret');
    await waitFor(() => /only-one|already connected/.test(srv.daemon!.stderr()), 20000, 'only-one refusal');
    assert.doesNotMatch(await cli2.cmd('/interface pptp-client monitor pptp-out1 once'), /status: "connected"/);

    // The first session hangs up: its pool address comes back and the second machine gets it.
    await cli.cmd('/interface pptp-client disable pptp-out1');
    const mon2 = await waitOutput(cli2, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/, 60000);
    assert.match(mon2, /local-address: 198\.19\.10\.10\b/);
    assert.match(await waitOutput(srv, '/ppp active print', /u2/), /u2\s+pptp\s+198\.18\.3\.2\s+198\.19\.10\.10/);
    assert.equal(cli2.ping('198.19.10.1', 2), 2);
  } finally {
    await topo.destroy();
  }
});

test('pptp server: two calls from one address (as behind one NAT) run side by side, each with its own interface', async () => {
  const { topo, srv, cli } = await pair('e', REST_D);
  try {
    await srv.cmd('/ppp secret add name=u3 service=pptp password=p3-secret local-address=198.19.0.5 remote-address=198.19.0.6');
    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u3 password=p3-secret disabled=no');
    await waitOutput(cli, '/interface pptp-client print', /\bR\s+name="pptp-out1"[\s\S]*\bR\s+name="pptp-out2"/);
    const active = await waitOutput(srv, '/ppp active print', /u1[\s\S]*u3|u3[\s\S]*u1/);
    assert.match(active, /u1\s+pptp\s+198\.18\.1\.2\s+198\.19\.0\.2/);
    assert.match(active, /u3\s+pptp\s+198\.18\.1\.2\s+198\.19\.0\.6/);
    const links = srv.ip('-o', 'link', 'show');
    assert.match(links, /<pptp-u1>/);
    assert.match(links, /<pptp-u3>/);
    assert.equal(cli.ping('198.19.0.1', 3), 3, 'through pptp-out1');
    assert.equal(cli.ping('198.19.0.5', 3), 3, 'through pptp-out2');
    assert.equal(srv.ping('198.19.0.2', 2), 2);
    assert.equal(srv.ping('198.19.0.6', 2), 2);
    // One goes; the other keeps running.
    await cli.cmd('/interface pptp-client disable pptp-out1');
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*\bu1\b)/);
    assert.equal(cli.ping('198.19.0.5', 3), 3, 'the second call is undisturbed');
  } finally {
    await topo.destroy();
  }
});

test('pptp server: the same user twice (only-one=no) gets the static interface, then a dynamic one', async () => {
  const { topo, srv, cli } = await pair('f', REST_D);
  try {
    await srv.cmd('/ip pool add name=p4 ranges=198.19.20.10-198.19.20.11');
    await srv.cmd('/ppp secret add name=u4 service=pptp password=p4-secret local-address=198.19.20.1 remote-address=p4');
    await srv.cmd('/interface pptp-server add name=static-u4 user=u4');
    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u4 password=p4-secret disabled=no');
    await waitOutput(srv, '/interface pptp-server print', /\bR\s+static-u4/);
    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u4 password=p4-secret disabled=no');
    const ifs = await waitOutput(srv, '/interface pptp-server print', /DR <pptp-u4>/);
    assert.match(ifs, /\bR\s+static-u4\s+u4/);
    const active = await waitOutput(srv, '/ppp active print', /u4[\s\S]*u4/);
    assert.match(active, /198\.19\.20\.10/);
    assert.match(active, /198\.19\.20\.11/);
    const links = srv.ip('-o', 'link', 'show');
    assert.match(links, /static-u4/);
    assert.match(links, /<pptp-u4>/);

    // Server off: every call goes with its interface; on again (at once): the clients come back.
    await srv.cmd('/interface pptp-server server set enabled=no');
    await srv.cmd('/interface pptp-server server set enabled=yes');
    await waitFor(() => !/static-u4|<pptp-u4>/.test(srv.ip('-o', 'link', 'show')) || /pptp server listening[\s\S]*pptp server listening/.test(srv.daemon!.stderr()), 10000, 'restart');
    await waitOutput(srv, '/ppp active print', /u4[\s\S]*u4/, 30000);
    assert.equal((srv.daemon!.stderr().match(/pptp server listening/g) ?? []).length, 2, 'listening again after the restart');
  } finally {
    await topo.destroy();
  }
});
