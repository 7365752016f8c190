/**
 * PPTP client options on a routed path (client - router - server, three namespaces):
 * dial-on-demand with the seed's 10.112.112.0/24 placeholder, add-default-route with
 * default-route-distance and the pptp(8) host route to the server (so the tunnel's own
 * packets do not loop into it), and SIGTERM on both daemons removing what they added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, waitOutput } from '../io/l2tp/topology.js';
import { waitFor } from '../mgmt/helpers.js';

test('pptp client: dial-on-demand, default route with distance, host route to the server, SIGTERM teardown on both sides', async () => {
  const topo = new Topology('ppopt');
  try {
    const srv = topo.machine('srv');
    const rtr = topo.machine('rtr');
    const cli = topo.machine('cli');
    topo.link(srv, 'ether1', '198.18.1.1/24', rtr, 'ether1', '198.18.1.254/24');
    topo.link(rtr, 'ether2', '198.18.2.1/24', cli, 'ether1', '198.18.2.2/24');
    rtr.forwarding();
    srv.ip('route', 'add', '198.18.2.0/24', 'via', '198.18.1.254');
    cli.ip('route', 'add', 'default', 'via', '198.18.2.1', 'metric', '100');
    await topo.daemon(srv);
    await topo.daemon(cli);
    await srv.cmd('/ppp secret add name=u1 service=pptp password=p1-secret local-address=198.19.0.1 remote-address=198.19.0.2 routes="198.19.50.0/24"');
    await srv.cmd('/interface pptp-server server set enabled=yes');

    await cli.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret add-default-route=yes default-route-distance=2 dial-on-demand=yes disabled=no');
    // Seed 000: while not connected, a route with a gateway from 10.112.112.0/24.
    await waitFor(() => /inet 10\.112\.112\.\d+ peer 10\.112\.112\.\d+/.test(cli.ip('addr', 'show', 'dev', 'pptp-out1')), 10000, 'placeholder address');
    await waitFor(() => /default dev pptp-out1 .*metric 2/.test(cli.ip('route')), 10000, `placeholder default route:\n${cli.ip('route')}`);
    assert.match(cli.ip('route'), /198\.18\.1\.1 via 198\.18\.2\.1 dev ether1/, 'host route to the server before the default route');
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(await srv.cmd('/ppp active print'), /u1/, 'no call before traffic');
    assert.doesNotMatch(await cli.cmd('/interface pptp-client monitor pptp-out1 once'), /status: "connected"/);

    // The first outbound packet dials.
    cli.ping('198.19.0.1', 1);
    await waitOutput(cli, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/, 20000);
    await waitOutput(srv, '/ppp active print', /u1/);
    await waitFor(() => cli.ping('198.19.0.1', 1) === 1, 10000, 'traffic through the dialed tunnel');
    const routes = cli.ip('route');
    assert.match(routes, /default dev pptp-out1 .*metric 2/);
    assert.match(routes, /198\.18\.1\.1 via 198\.18\.2\.1 dev ether1/);
    assert.doesNotMatch(cli.ip('addr', 'show', 'dev', 'pptp-out1'), /10\.112\.112/, 'placeholder replaced');
    assert.match(cli.ip('route', 'get', '198.19.77.1'), /dev pptp-out1/, 'everything else goes into the tunnel');
    assert.match(cli.ip('route', 'get', '198.18.1.1'), /via 198\.18\.2\.1 dev ether1/, 'the tunnel itself does not');

    // SIGTERM on the server: the call goes, with its interface and the secret's route.
    await waitFor(() => /198\.19\.50\.0\/24 dev <pptp-u1>/.test(srv.ip('route')), 5000, 'secret route');
    assert.equal(await srv.daemon!.stop(), 0);
    assert.doesNotMatch(srv.ip('-o', 'link', 'show'), /<pptp-u1>/);
    assert.doesNotMatch(srv.ip('route'), /198\.19\.50\.0/);
    srv.daemon = undefined;
    srv.console = undefined;

    // SIGTERM on the client: the TUN, the default route and the host route go; the underlay's stay.
    await waitFor(() => /terminated/.test(cli.daemon!.stderr()), 15000, 'client notices the server left');
    assert.equal(await cli.daemon!.stop(), 0);
    cli.daemon = undefined;
    cli.console = undefined;
    assert.doesNotMatch(cli.ip('-o', 'link', 'show'), /pptp-out1/);
    const after = cli.ip('route');
    assert.doesNotMatch(after, /198\.18\.1\.1 via/);
    assert.doesNotMatch(after, /pptp-out1/);
    assert.match(after, /default via 198\.18\.2\.1 dev ether1 metric 100/);
  } finally {
    await topo.destroy();
  }
});
