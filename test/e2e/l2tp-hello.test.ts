/**
 * culvert LAC daemon <-> culvert LNS daemon (namespaces joined by a veth, as in
 * l2tp-daemon.test.ts): a peer that goes silent is found by the tunnel Hello (RFC 2661
 * §5.5), both ways. The Hello interval is 2 s (CULVERT_L2TP_HELLO) and keepalive-timeout is
 * 10 minutes, so the PPP echo cannot be what notices: the Hello's retransmission cycle
 * (1+2+4+8+8+8 s) runs out and the tunnel is cleared. A peer is made silent by SIGSTOP of
 * its daemon (resumed by PID afterwards; destroy() ends it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, waitOutput, type Machine } from '../io/l2tp/topology.js';
import { waitFor } from '../mgmt/helpers.js';

// The daemons inherit the environment.
process.env.CULVERT_L2TP_HELLO = '2';

const HELLO_FAILED = /peer not responding \(HELLO not acknowledged after 5 retransmissions\)/;

async function pair(tag: string): Promise<{ topo: Topology; srv: Machine; cli: Machine }> {
  const topo = new Topology(tag);
  try {
    const srv = topo.machine('srv');
    const cli = topo.machine('cli');
    topo.link(srv, 'ether1', '198.18.1.1/24', cli, 'ether1', '198.18.1.2/24');
    await topo.daemon(srv);
    await topo.daemon(cli);
    await srv.cmd('/ip pool add name=l2tp-pool ranges=198.19.10.10-198.19.10.50');
    await srv.cmd('/ppp profile add name=l2tp-prof local-address=198.19.10.1 remote-address=l2tp-pool use-encryption=yes');
    await srv.cmd('/ppp secret add name=u1 password=p1-secret service=l2tp profile=l2tp-prof');
    await srv.cmd('/interface l2tp-server server set enabled=yes keepalive-timeout=10m');
    await cli.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret keepalive-timeout=10m disabled=no');
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    await waitOutput(srv, '/ppp active print', /u1/);
    await waitOutput(srv, '/interface print', /<l2tp-u1>/);
    await waitFor(() => cli.ping('198.19.10.1', 1) === 1, 15000, 'first echo through the tunnel');
    // Let the set-up's last acknowledgements go and one Hello round pass: what goes
    // unanswered after this is a Hello (a peer stopped within the 100 ms ack delay would
    // leave the ICCN unacknowledged instead, found the same way but not by Hello).
    await new Promise((r) => setTimeout(r, 4000));
    return { topo, srv, cli };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

test('daemons: the server finds a silent client by Hello: tunnel cleared, /ppp active and <l2tp-u1> gone, reason logged', async () => {
  const { topo, srv, cli } = await pair('hs');
  const pid = cli.daemon!.proc.pid!;
  let stopped = false;
  try {
    process.kill(pid, 'SIGSTOP'); // the client answers nothing from now on
    stopped = true;
    await waitOutput(srv, '/ppp active print', /^(?![\s\S]*\bu1\b)/, 90000);
    await waitOutput(srv, '/interface print', /^(?![\s\S]*<l2tp-u1>)/, 15000);
    await waitFor(() => !/<l2tp-u1>/.test(srv.ip('-o', 'link', 'show')), 15000, 'server TUN <l2tp-u1> removed');
    const log = srv.daemon!.stderr();
    assert.match(log, new RegExp(`u1 from 198\\.18\\.1\\.2 disconnected: ${HELLO_FAILED.source}`), `server log:\n${log.slice(-2500)}`);
    assert.doesNotMatch(log, /LCP missed echo reply/, 'found by the L2TP Hello, not the PPP echo');
    assert.doesNotMatch(log, /p1-secret/, 'no password in the log');
  } finally {
    if (stopped) process.kill(pid, 'SIGCONT');
    await topo.destroy();
  }
});

test('daemons: the client finds a silent server by Hello: monitor shows the call terminated, then redialling, then connected again', async () => {
  const { topo, srv, cli } = await pair('hc');
  const pid = srv.daemon!.proc.pid!;
  let stopped = false;
  try {
    const ends = () => (cli.daemon!.stderr().match(/l2tp-out1: terminated:/g) ?? []).length;
    const before = ends();
    process.kill(pid, 'SIGSTOP'); // the server answers nothing from now on
    stopped = true;
    await waitFor(() => ends() > before, 90000, 'the client ended the call');
    const log = cli.daemon!.stderr();
    assert.match(log, new RegExp(`l2tp-out1: terminated: ${HELLO_FAILED.source}`), `client log:\n${log.slice(-2500)}`);
    assert.doesNotMatch(log, /LCP missed echo reply/, 'found by the L2TP Hello, not the PPP echo');
    // It redials (the server is still silent, so the new attempt stays at dialing).
    const mon = await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?dialing/, 15000);
    assert.doesNotMatch(mon, /status: "?connected/);
    process.kill(pid, 'SIGCONT');
    stopped = false;
    await waitOutput(cli, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 90000);
    await waitFor(() => cli.ping('198.19.10.1', 1) === 1, 15000, 'traffic after the redial');
  } finally {
    if (stopped) process.kill(pid, 'SIGCONT');
    await topo.destroy();
  }
});
