import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsPair, ip, nsExec } from './helpers/netns.js';
import { RouteSet, parseRoutes } from '../../src/io/routes.js';
import { ConfigError } from '../../src/errors.js';

test('parseRoutes reads RouterOS routes= "dst gateway metric" lists', () => {
  assert.deepEqual(parseRoutes('10.150.1.0/24 10.0.103.2 1'), [{ dst: '10.150.1.0/24', gateway: '10.0.103.2', metric: 1 }]);
  assert.deepEqual(parseRoutes('198.19.7.0/24 198.18.0.2 3, 198.19.8.0/24', { dev: 'ppp0' }), [
    { dst: '198.19.7.0/24', gateway: '198.18.0.2', dev: 'ppp0', metric: 3 },
    { dst: '198.19.8.0/24', dev: 'ppp0' },
  ]);
  assert.deepEqual(parseRoutes('198.19.9.0/24', { peer: '198.19.0.2' }), [{ dst: '198.19.9.0/24', gateway: '198.19.0.2' }]);
  assert.deepEqual(parseRoutes(''), []);
  for (const bad of ['10.1.0.0/33 1.2.3.4', '10.1.0.0/24 1.2.3', '10.1.0.0/24 1.2.3.4 x', '10.1.0.0/24 1.2.3.4 1 2', '10.1.0.0/24']) {
    assert.throws(() => parseRoutes(bad), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_INVALID_VALUE', bad);
  }
});

function routes(ns: string): string {
  return ip(['route', 'show'], ns);
}

test('RouteSet adds host, default (with distance) and secret routes and removes exactly those', async () => {
  const net = NetnsPair.create('rt');
  try {
    // Something that was there before must survive undo().
    ip(['route', 'add', '198.19.9.0/24', 'via', '198.18.0.2'], net.a);
    ip(['route', 'add', 'default', 'via', '198.18.0.2', 'metric', '100'], net.a);
    const rs = new RouteSet({ netns: net.a });
    assert.equal(await rs.add({ dst: '198.19.5.5', gateway: '198.18.0.2' }), true);
    assert.equal(await rs.add({ dst: '198.19.6.0/24', dev: 'veth0', metric: 7 }), true);
    assert.equal(await rs.addDefault({ gateway: '198.18.0.2', distance: 5 }), true);
    for (const r of parseRoutes('198.19.7.0/24 198.18.0.2 3,198.19.8.0/24', { dev: 'veth0' })) await rs.add(r);
    assert.equal(await rs.add({ dst: '198.19.9.0/24', gateway: '198.18.0.2' }), false, 'an existing route is not taken over');
    const host = await rs.addServerHostRoute('198.19.100.1');
    assert.deepEqual(host, { dst: '198.19.100.1/32', gateway: '198.18.0.2', dev: 'veth0' });
    assert.equal(await rs.addServerHostRoute('198.19.100.2', { nohostroute: true }), undefined);
    assert.equal(await rs.addServerHostRoute('198.18.0.2'), undefined, 'an on-link server needs no host route');

    const during = routes(net.a);
    assert.match(during, /^198\.19\.5\.5 via 198\.18\.0\.2 dev veth0/m);
    assert.match(during, /^198\.19\.6\.0\/24 dev veth0 .*metric 7/m);
    assert.match(during, /^default via 198\.18\.0\.2 dev veth0 metric 5/m);
    assert.match(during, /^198\.19\.7\.0\/24 via 198\.18\.0\.2 dev veth0 metric 3/m);
    assert.match(during, /^198\.19\.8\.0\/24 dev veth0/m);
    assert.match(during, /^198\.19\.100\.1 via 198\.18\.0\.2 dev veth0/m);
    assert.equal(rs.size, 6);

    await rs.undo();
    const after = routes(net.a);
    for (const gone of ['198.19.5.5', '198.19.6.0/24', '198.19.7.0/24', '198.19.8.0/24', '198.19.100.1', 'metric 5']) {
      assert.ok(!after.includes(gone), `${gone} removed:\n${after}`);
    }
    assert.match(after, /^198\.19\.9\.0\/24 via 198\.18\.0\.2/m, 'the pre-existing route stays');
    assert.match(after, /^default via 198\.18\.0\.2 dev veth0 metric 100/m, 'the pre-existing default stays');
    assert.equal(rs.size, 0);
  } finally {
    net.destroy();
  }
});

test('RouteSet.undo copes with routes the kernel already removed (tunnel interface gone)', async () => {
  const net = NetnsPair.create('rtgone');
  try {
    // A veth pair stands in for a tunnel interface (no dummy module on every kernel).
    ip(['link', 'add', 'dummy7', 'type', 'veth', 'peer', 'name', 'dummy7p'], net.a);
    ip(['link', 'set', 'dummy7', 'up'], net.a);
    ip(['link', 'set', 'dummy7p', 'up'], net.a);
    const rs = new RouteSet({ netns: net.a });
    await rs.add({ dst: '198.19.44.0/24', dev: 'dummy7' });
    await rs.addDefault({ dev: 'dummy7', distance: 9 });
    ip(['link', 'del', 'dummy7'], net.a);
    await rs.undo();
    assert.equal(rs.size, 0);
  } finally {
    net.destroy();
  }
});

test('proxy_arp is switched on for the interface and restored by undo()', async () => {
  const net = NetnsPair.create('parp');
  try {
    const read = (): string => nsExec(net.a, 'sysctl', ['-n', 'net.ipv4.conf.veth0.proxy_arp']).trim();
    assert.equal(read(), '0');
    const rs = new RouteSet({ netns: net.a });
    await rs.setProxyArp('veth0');
    assert.equal(read(), '1');
    await rs.setProxyArp('veth0'); // already on: nothing more to undo
    assert.equal(rs.size, 1);
    await rs.undo();
    assert.equal(read(), '0');
    await assert.rejects(rs.setProxyArp('bad name;'), (e: unknown) => e instanceof ConfigError);
  } finally {
    net.destroy();
  }
});
