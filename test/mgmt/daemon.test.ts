/**
 * The daemon as a user meets it: a real process in a network namespace the test makes.
 * Export/import round trip, kill -9 during a burst of 1,000 sets, 50 malformed commands,
 * REST and console agreeing on every menu, permissions, a corrupt store, and SIGTERM
 * removing the addresses and routes it installed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Netns, nsFetch, startDaemon, tmpDir, type DaemonProc, type TestClient } from './helpers.js';
import { MENUS } from '../../src/mgmt/schema.js';
import { STORE_FILE } from '../../src/mgmt/store.js';

/** A configuration touching every settable menu, with awkward values. */
const RICH = [
  '/ip pool add name=vpn-pool ranges=198.18.99.2-198.18.99.100',
  '/ip pool add name=spill ranges=198.18.98.0/24 comment="overflow pool"',
  '/ip pool set vpn-pool next-pool=spill',
  '/ppp profile set default local-address=198.18.99.1 remote-address=vpn-pool dns-server=198.18.0.53',
  '/ppp profile add name=road local-address=198.18.1.1 remote-address=vpn-pool use-encryption=required only-one=yes change-tcp-mss=no session-timeout=1h30m idle-timeout=10m rate-limit=2M/4M',
  '/ppp aaa set accounting=no interim-update=5m',
  '/ppp secret add name=Laptop service=pptp password="p w\\"d$" local-address=198.18.101.1 remote-address=198.18.101.100',
  '/ppp secret add name=Home service=l2tp password=123 routes="198.18.202.0/24 198.18.1.2 1" profile=road caller-id=198.18.7.7',
  '/ppp secret add name=user1 password=123 disabled=yes comment="temporary; remove in May"',
  '/interface pptp-server server set enabled=yes authentication=mschap2 keepalive-timeout=45 default-profile=default',
  '/interface pptp-server add name=FromLaptop user=Laptop',
  '/interface l2tp-server server set enabled=yes use-ipsec=yes ipsec-secret=mySecret max-mtu=1400 mrru=1600',
  '/interface l2tp-server add user=Home',
  '/interface pptp-client add name=pptp-hm user=pptp-hm password=123 connect-to=198.18.101.100 disabled=no allow=mschap2 keepalive-timeout=20',
  '/interface pptp-client add user=Home password=123 connect-to=198.18.80.1 add-default-route=yes default-route-distance=5',
  '/interface l2tp-client add name=l2tp-hm user=l2tp-hm password=123 connect-to=198.18.101.100 mrru=1614 profile=road',
  '/interface l2tp-client comment l2tp-hm comment="to the head office"',
  '/ip address add address=198.18.0.1/24 interface=ether1',
  '/ip route add dst-address=198.18.5.0/24 gateway=198.18.0.2 distance=3',
  '/ip route add dst-address=198.18.101.0/24 gateway=pptp-out1',
  '/ip firewall filter add chain=input protocol=udp port=1701,500,4500',
  '/interface ethernet set ether2 arp=proxy-arp',
];

describe('culvert daemon', () => {
  let ns: Netns;
  let d: DaemonProc;
  let c: TestClient;
  before(async () => {
    ns = new Netns();
    ns.vethPair('ether1', '02:00:00:00:00:01', 'ether2', '02:00:00:00:00:02');
    d = await startDaemon({ netns: ns, restPort: 18728 });
    c = await d.client();
  });
  after(async () => {
    c?.close();
    await d?.stop();
    ns?.remove();
  });

  it('keeps its socket 0600 in a 0700 directory and its REST token 0600', () => {
    assert.equal(fs.statSync(d.socket).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(d.socket)).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(d.dataDir, 'rest-token')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(d.dataDir).mode & 0o777, 0o700);
  });

  it('export fed to import on an empty daemon reproduces the same export byte for byte', async () => {
    await c.ok('/system reset-configuration');
    for (const cmd of RICH) await c.ok(cmd);
    const exported = await c.ok('/export');
    assert.match(exported, /\/ppp secret\nadd name=Laptop service=pptp password="p w\\"d\\\$"/);
    await c.ok('/export file=backup');
    assert.equal(fs.statSync(path.join(d.dataDir, 'backup.rsc')).mode & 0o777, 0o600);

    // A second, empty daemon (own namespace, own data directory) imports it.
    const ns2 = new Netns();
    ns2.vethPair('ether1', '02:00:00:00:01:01', 'ether2', '02:00:00:00:01:02');
    const d2 = await startDaemon({ netns: ns2 });
    try {
      const c2 = await d2.client();
      fs.copyFileSync(path.join(d.dataDir, 'backup.rsc'), path.join(d2.dataDir, 'backup.rsc'));
      await c2.ok('/import file=backup.rsc');
      assert.equal(await c2.ok('/export'), exported);
      // and the same daemon after a reset
      await c.ok('/system reset-configuration');
      assert.equal(await c.ok('/export'), '# culvert configuration export\n');
      await c.ok('/import file=backup');
      assert.equal(await c.ok('/export'), exported);
      c2.close();
    } finally {
      await d2.stop();
      ns2.remove();
    }
  });

  it('applies /ip address and /ip route to Linux with flags, and a failing import changes nothing', async () => {
    const addrs = ns.exec('ip', '-4', 'addr', 'show', 'dev', 'ether1');
    assert.match(addrs, /198\.18\.0\.1\/24/);
    const routes = ns.exec('ip', 'route', 'show');
    assert.match(routes, /198\.18\.5\.0\/24 via 198\.18\.0\.2 .*metric 3/);
    const pr = await c.ok('/ip route print');
    assert.match(pr, /\n\s+0\s+A\s+S\s+198\.18\.5\.0\/24\s+198\.18\.0\.2\s+3\n/);
    assert.match(pr, /\n\s+1\s+S\s+198\.18\.101\.0\/24\s+pptp-out1/); // no such device yet: not active
    assert.equal(ns.exec('cat', '/proc/sys/net/ipv4/conf/ether2/proxy_arp').trim(), '1');

    const before = await c.ok('/export');
    fs.writeFileSync(path.join(d.dataDir, 'bad.rsc'), '/ip pool add name=x ranges=198.18.50.1-198.18.50.9\n/ppp secret add name=z profile=nope\n');
    const r = await c.run('/import file=bad.rsc');
    assert.equal(r.ok, false);
    assert.match(r.error!, /bad\.rsc failed at line 2: .*profile/);
    assert.equal(await c.ok('/export'), before);
  });

  it('50 malformed commands each give a clear error and change nothing', async () => {
    const before = await c.ok('/export');
    const storeBefore = fs.readFileSync(path.join(d.dataDir, STORE_FILE), 'utf8');
    const bad: [string, RegExp][] = [
      ['/interface pptp-client set 0 max-mtu=10', /invalid value for argument max-mtu: must be 64\.\.65535/],
      ['/interface pptp-client set 0 max-mtu=70000', /max-mtu: must be 64\.\.65535/],
      ['/interface pptp-client set 0 max-mtu=abc', /max-mtu/],
      ['/interface pptp-client set 0 max-mru=-1', /max-mru/],
      ['/interface pptp-client set 0 mrru=100', /mrru: must be disabled \| 512\.\.65535/],
      ['/interface pptp-client set 0 allow=mschap3', /allow: must be one or more of pap, chap, mschap1, mschap2/],
      ['/interface pptp-client set 0 connect-to=999.1.1.1', /connect-to: must be an IPv4 address/],
      ['/interface pptp-client set 0 add-default-route=maybe', /add-default-route: must be yes \| no/],
      ['/interface pptp-client set 0 default-route-distance=256', /default-route-distance: must be 0\.\.255/],
      ['/interface pptp-client set 0 keepalive-timeout=0', /keepalive-timeout/],
      ['/interface pptp-client set 0 profile=nosuch', /no \/ppp profile named nosuch/],
      ['/interface pptp-client set 0 bogus=1', /unknown argument bogus for \/interface pptp-client/],
      ['/interface pptp-client set 0 max-mtu=1400 max-mru=foo', /max-mru/],
      ['/interface pptp-client set 99 max-mtu=1400', /no such item \(99\)/],
      ['/interface pptp-client set nosuch max-mtu=1400', /no such item \(nosuch\)/],
      ['/interface pptp-client set 0', /no property given/],
      ['/interface pptp-client add user=x password=y', /connect-to must be set/],
      ['/interface pptp-client add connect-to=198.18.1.1', /user must be set/],
      ['/interface pptp-client add name=pptp-hm user=a connect-to=198.18.1.1', /already exists/],
      ['/interface pptp-client add name=ether1 user=a connect-to=198.18.1.1 max-mtu=1400', /ether1|already exists/],
      ['/interface pptp-client frobnicate', /bad command name frobnicate/],
      ['/interface pptp-client remove', /which item/],
      ['/interface pptp-clientx print', /bad command name pptp-clientx/],
      ['/nosuchmenu print', /bad command name nosuchmenu/],
      ['/interface pptp-server server set enabled=perhaps', /enabled: must be yes \| no/],
      ['/interface pptp-server server set max-mtu=63', /max-mtu: must be 64\.\.65535/],
      ['/interface pptp-server server set authentication=', /authentication/],
      ['/interface pptp-server server set default-profile=ghost', /no \/ppp profile named ghost/],
      ['/interface pptp-server server set keepalive-timeout=forever', /keepalive-timeout/],
      ['/interface l2tp-server server set use-ipsec=sometimes', /use-ipsec: must be no \| yes \| required/],
      ['/interface pptp-server add name=x', /user must be set/],
      ['/ppp secret add password=123', /name must be set/],
      ['/ppp secret add name=Laptop password=1', /already exists/],
      ['/ppp secret add name=a service=telnet', /service: must be any/],
      ['/ppp secret add name=a routes="not a route"', /routes/],
      ['/ppp secret add name=a remote-address=nopool', /no pool named nopool/],
      ['/ppp secret set Laptop profile=ghost', /no \/ppp profile named ghost/],
      ['/ppp profile remove default', /cannot remove built-in default/],
      ['/ppp profile set default name=other', /cannot rename built-in/],
      ['/ppp profile add name=p use-encryption=always', /use-encryption: must be default \| no \| yes \| required/],
      ['/ppp profile add name=p session-timeout=soon', /session-timeout: must be a time/],
      ['/ppp profile add name=p rate-limit=fast', /rate-limit/],
      ['/ppp profile remove road', /no \/ppp profile named road/],
      ['/ip pool add name=p ranges=198.18.1.9-198.18.1.1', /ranges/],
      ['/ip pool remove vpn-pool', /no pool named vpn-pool/],
      ['/ip address add address=198.18.0.300/24 interface=ether1', /address: must be an IPv4 address with prefix length/],
      ['/ip route add dst-address=198.18.0.0/33 gateway=198.18.0.2', /dst-address: must be an IPv4 network/],
      ['/ip route add dst-address=198.18.6.0/24 gateway=198.18.0.2 distance=300', /distance: must be 0\.\.255/],
      ['/interface ethernet set ether1 arp=sometimes', /arp: must be enabled \| disabled \| proxy-arp \| reply-only/],
      ['/ppp secret add name=ok password=1; /ppp secret add name=Laptop', /already exists/],
      ['/ppp secret add name="unterminated', /unterminated quoted string/],
      ['/import file=../../etc/passwd', /file: must be a file name in/],
      ['/export file=config.jsonl', /not the store or token/],
    ];
    assert.equal(bad.length, 53); // 50 malformed + a line whose first half was valid + two file names outside the data directory
    for (const [cmd, re] of bad) {
      const r = await c.run(cmd);
      assert.equal(r.ok, false, `expected failure: ${cmd}`);
      assert.match(r.error!, re, `${cmd}\n-> ${r.error}`);
      assert.ok(!/p w"d/.test(r.error!), 'no password in errors');
    }
    assert.equal(await c.ok('/export'), before);
    assert.equal(fs.readFileSync(path.join(d.dataDir, STORE_FILE), 'utf8'), storeBefore);
    assert.ok(!d.stderr().includes('p w"d'), 'passwords never in the log');
    assert.ok(!d.stderr().includes('mySecret'), 'ipsec secret never in the log');
  });

  it('REST and console agree on every menu, and changes through one show in the other', async () => {
    const token = fs.readFileSync(path.join(d.dataDir, 'rest-token'), 'utf8').trim();
    const base = `http://127.0.0.1:${d.restPort}`;
    const rest = async (method: string, p: string, body?: unknown, tok = token) => {
      const r = nsFetch(ns, method, base + p, tok, body);
      return { status: r.status, json: r.text && r.status !== 204 ? JSON.parse(r.text) : undefined, text: r.text };
    };
    assert.equal(nsFetch(ns, 'GET', base + '/rest/ppp/secret', '').status, 401);
    assert.equal((await rest('GET', '/rest/ppp/secret', undefined, 'wrong')).status, 401);

    for (const m of MENUS) {
      const url = '/rest' + m.path.replace(/ /g, '/');
      const r = await rest('GET', url);
      assert.equal(r.status, 200, url);
      const out = await c.ok(`${m.path} print${m.kind === 'list' ? ' detail' : ''}`);
      if (m.kind === 'single') {
        for (const line of out.split('\n').filter((l) => l.includes(': '))) {
          const [k, v] = line.trim().split(/: (.*)/);
          assert.equal(r.json[k], v, `${m.path} ${k}`);
        }
        continue;
      }
      assert.ok(Array.isArray(r.json), url);
      // Split print detail into rows and check every key=value the console shows.
      const rows = out.split(/\n(?=\s{0,2}\d+ )/).filter((s) => /^\s*\d+ /.test(s));
      assert.equal(rows.length, r.json.length, `${m.path}: row count`);
      rows.forEach((row, i) => {
        const pairs = [...row.matchAll(/([a-z][a-z0-9-]*)=("(?:[^"\\]|\\.)*"|\S*)/g)];
        for (const [, k, raw] of pairs) {
          const v = raw.startsWith('"') ? JSON.parse(raw.replace(/\\\$/g, '$')) : raw;
          const want = k === 'name' && /^<.*>$/.test(v) ? v.slice(1, -1) : v;
          assert.equal(r.json[i][k], want, `${m.path} row ${i} ${k}`);
        }
      });
    }

    // REST -> console
    const created = await rest('PUT', '/rest/ip/pool', { name: 'rest-pool', ranges: '198.18.77.1-198.18.77.9' });
    assert.equal(created.status, 201);
    assert.match(created.json['.id'], /^\*[0-9A-F]+$/);
    assert.match(await c.ok('/ip pool print'), /rest-pool\s+198\.18\.77\.1-198\.18\.77\.9/);
    const patched = await rest('PATCH', `/rest/ip/pool/${encodeURIComponent(created.json['.id'])}`, { ranges: '198.18.77.1-198.18.77.20' });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.ranges, '198.18.77.1-198.18.77.20');
    const single = await rest('PATCH', '/rest/interface/pptp-server/server', { 'max-mtu': '1400' });
    assert.equal(single.json['max-mtu'], '1400');
    assert.match(await c.ok('/interface pptp-server server print'), /max-mtu: 1400/);
    // the same error text as the console
    const badRest = await rest('PATCH', '/rest/interface/pptp-server/server', { 'max-mtu': '10' });
    const badConsole = await c.run('/interface pptp-server server set max-mtu=10');
    assert.equal(badRest.status, 400);
    assert.equal(badRest.json.detail, badConsole.error);
    assert.equal((await rest('DELETE', `/rest/ip/pool/${encodeURIComponent(created.json['.id'])}`)).status, 204);
    assert.doesNotMatch(await c.ok('/ip pool print'), /rest-pool/);
    assert.equal((await rest('GET', '/rest/ip/pool/*FFFF')).status, 404);
    assert.equal((await rest('GET', '/rest/no/such/menu')).status, 404);
    // console -> REST
    await c.ok('/ppp secret add name=viaconsole password=x service=l2tp');
    const secrets = (await rest('GET', '/rest/ppp/secret')).json as Record<string, string>[];
    assert.ok(secrets.some((s) => s.name === 'viaconsole' && s.service === 'l2tp'));
    assert.deepEqual((await rest('GET', '/rest/ppp/secret?service=l2tp&.proplist=name,service')).json, [{ name: 'Home', service: 'l2tp' }, { name: 'viaconsole', service: 'l2tp' }]);

    const mon = await rest('POST', '/rest/interface/pptp-client/monitor', { '.id': 'pptp-hm' });
    assert.equal(mon.status, 200);
    // No tunnel can come up in the test namespace; the runtime says why, or nothing runs yet.
    assert.equal(mon.json.length, 1);
    assert.match(mon.json[0].status, /^(terminated|dialing|connecting|disconnected|disabled)/);
    const text = nsFetch(ns, 'GET', base + '/metrics', token).text;
    assert.match(text, /# TYPE culvert_tunnel_rx_bytes_total counter/);
    assert.match(text, /^culvert_up 1$/m);
  });

  it('kill -9 during a burst of 1,000 set commands loses nothing but the last', async () => {
    const ns2 = new Netns();
    const d2 = await startDaemon({ netns: ns2 });
    try {
      const c2 = await d2.client();
      await c2.ok('/interface pptp-client add name=burst user=u connect-to=198.18.1.1');
      let acked = -1;
      const killAt = 200 + Math.floor(Math.random() * 600);
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        const p = c2.c.run(`/interface pptp-client set burst max-mtu=${1000 + i}`).then((r) => {
          if (r.ok) acked = i;
          if (i === killAt) d2.proc.kill('SIGKILL');
        });
        all.push(p.catch(() => undefined));
      }
      await Promise.all(all);
      await d2.exited;
      assert.ok(acked >= killAt && acked < 1000, `acked ${acked}`);
      // Restart on the same data directory: the store must load and hold the last acknowledged value (or the one in flight).
      const d3 = await startDaemon({ netns: ns2, dataDir: d2.dataDir, socket: d2.socket });
      try {
        const c3 = await d3.client();
        const out = await c3.ok('/interface pptp-client print detail');
        const mtu = Number(/max-mtu=(\d+)/.exec(out)![1]) - 1000;
        assert.ok(mtu === acked || mtu === acked + 1, `store has ${mtu}, last acknowledged ${acked}`);
        c3.close();
      } finally {
        await d3.stop();
      }
    } finally {
      await d2.kill9();
      ns2.remove();
    }
  });

  it('answers garbage on the control socket with an error and keeps serving; a second daemon on the same socket refuses', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(d.socket);
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (x: string) => {
        buf += x;
        if (buf.split('\n').length > 3) { sock.end(); resolve(buf); }
      });
      sock.on('error', reject);
      sock.write('this is not json\n{"nocmd":1}\n{"cmd":"/ppp aaa print"}\n');
    });
    const [a, b, cc] = raw.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual([a.ok, a.code], [false, 'CONSOLE_ERR_PROTOCOL']);
    assert.deepEqual([b.ok, b.code], [false, 'CONSOLE_ERR_PROTOCOL']);
    assert.equal(cc.ok, true);
    assert.match(cc.output, /use-radius: no/);
    const second = await startDaemon({ netns: ns, socket: d.socket, expectExit: true });
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /another culvert daemon is listening on/);
    assert.match(await c.ok('/ppp aaa print'), /accounting/);
  });

  it('SIGTERM exits 0 and removes the addresses and routes it installed', async () => {
    await c.ok('/system reset-configuration');
    await c.ok('/ip address add address=198.18.0.1/24 interface=ether1');
    await c.ok('/ip route add dst-address=198.18.5.0/24 gateway=198.18.0.2');
    assert.match(ns.exec('ip', 'route', 'show'), /198\.18\.5\.0\/24/);
    c.close();
    assert.equal(await d.stop(), 0);
    assert.doesNotMatch(ns.exec('ip', 'route', 'show'), /198\.18\.5\.0\/24/);
    assert.doesNotMatch(ns.exec('ip', '-4', 'addr', 'show', 'dev', 'ether1'), /198\.18\.0\.1/);
    assert.ok(!fs.existsSync(d.socket), 'socket removed');
    assert.match(d.stderr(), /stopped/);
  });
});

describe('corrupt store', () => {
  it('refuses to start, naming the file and line, and keeps the last good version', async () => {
    const ns = new Netns();
    try {
      const d = await startDaemon({ netns: ns });
      const c = await d.client();
      await c.ok('/ppp secret add name=a password=1');
      await c.ok('/ppp secret add name=b password=2');
      c.close();
      assert.equal(await d.stop(), 0);
      const file = path.join(d.dataDir, STORE_FILE);
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines[2] = '{"single": "/interface pptp-server server", "values": {"max-mtu": "12"}}';
      fs.writeFileSync(file, lines.join('\n'));
      const bad = await startDaemon({ netns: ns, dataDir: d.dataDir, socket: d.socket, expectExit: true });
      assert.notEqual(await bad.exited, 0);
      assert.match(bad.stderr(), new RegExp(`refusing to start: corrupt configuration store ${file.replace(/[.]/g, '\\.')} line 3: .*max-mtu`));
      assert.match(bad.stderr(), /last good version is in .*config\.jsonl\.bak/);
      // The backup is a complete, loadable store.
      fs.copyFileSync(file + '.bak', file);
      const good = await startDaemon({ netns: ns, dataDir: d.dataDir, socket: d.socket });
      const c2 = await good.client();
      assert.match(await c2.ok('/ppp secret print'), /\n  0   a  /);
      c2.close();
      await good.stop();
      const dangling = fs.readFileSync(file, 'utf8').replace('"name":"a"', '"name":"a","profile":"gone"');
      fs.writeFileSync(file, dangling);
      const bad3 = await startDaemon({ netns: ns, dataDir: d.dataDir, socket: d.socket, expectExit: true });
      assert.match(bad3.stderr(), /corrupt configuration store .*config\.jsonl: invalid value for argument profile: no \/ppp profile named gone/);
      fs.writeFileSync(file, '{"culvert":1}\nnot json at all\n');
      const bad2 = await startDaemon({ netns: ns, dataDir: d.dataDir, socket: d.socket, expectExit: true });
      assert.match(bad2.stderr(), /line 2: not valid JSON/);
    } finally {
      ns.remove();
    }
  });
});

it('tmpDir helper makes private directories', () => {
  assert.ok(fs.existsSync(tmpDir()));
});
