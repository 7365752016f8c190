/**
 * Clients behind a real NAT (issues #5 and #6). Four namespaces:
 *
 *   srv 198.18.1.1/24 ── ether1 [nat] br0 198.18.2.1/24 ──┬── c1 198.18.2.2
 *                        198.18.1.254/24                    └── c2 198.18.2.3
 *
 * `nat` forwards and masquerades 198.18.2.0/24 out of ether1 with nftables (in its own
 * namespace only), so the server sees both clients as 198.18.1.254 and has no route back
 * to 198.18.2.0/24. Each client runs its own culvert daemon.
 *
 * PPTP needs the kernel's PPTP conntrack/NAT helper for GRE: conntrack keys GRE by Call ID,
 * and only the helper, reading the control connection, learns both Call IDs of a call (and
 * gives the client's an outside value of its own), so each call is one GRE stream. Modern
 * kernels attach helpers only when told to, hence the `ct helper` object and rule; the third
 * test shows what happens without it. L2TP needs nothing special: both LACs send from UDP
 * 1701, the NAT moves one of them to another source port, and the LNS must answer each
 * tunnel at the port it came from; the last test moves a LAC's outside port mid-tunnel (a
 * NAT rebinding) and the LNS must follow it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { Topology, waitOutput, type Machine } from '../io/l2tp/topology.js';
import { waitFor } from '../mgmt/helpers.js';

interface NatLab {
  topo: Topology;
  srv: Machine;
  nat: Machine;
  c1: Machine;
  c2: Machine;
}

/** The NAT router's ruleset; `helper` attaches the PPTP conntrack helper to TCP 1723 (rule {@link HELPER_RULE}). */
function ruleset(helper: boolean): string {
  return `
table ip culvert_nat {
  ct helper pptp-h { type "pptp" protocol tcp; l3proto ip; }
  counter moved_1701 { }
  chain pre {
    type filter hook prerouting priority filter; policy accept;
${helper ? `    ${HELPER_RULE.join(' ')}` : ''}
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 198.18.2.0/24 oifname "ether1" masquerade
  }
  # After source NAT: L2TP from the inside that left with a source port other than 1701.
  chain seen {
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "ether1" udp dport 1701 udp sport != 1701 counter name moved_1701
  }
}
`;
}

const HELPER_RULE = ['tcp', 'dport', '1723', 'ct', 'helper', 'set', '"pptp-h"'];

async function natLab(tag: string, helper: boolean): Promise<NatLab> {
  const topo = new Topology(`nat${tag}`);
  try {
    const srv = topo.machine('srv');
    const nat = topo.machine('nat');
    const c1 = topo.machine('c1');
    const c2 = topo.machine('c2');
    topo.link(srv, 'ether1', '198.18.1.1/24', nat, 'ether1', '198.18.1.254/24');
    nat.ip('link', 'add', 'br0', 'type', 'bridge');
    nat.ip('addr', 'add', '198.18.2.1/24', 'dev', 'br0');
    nat.ip('link', 'set', 'br0', 'up');
    topo.link(nat, 'port1', undefined, c1, 'ether1', '198.18.2.2/24');
    topo.link(nat, 'port2', undefined, c2, 'ether1', '198.18.2.3/24');
    nat.ip('link', 'set', 'port1', 'master', 'br0');
    nat.ip('link', 'set', 'port2', 'master', 'br0');
    nat.forwarding();
    nft(nat, ruleset(helper));
    for (const c of [c1, c2]) c.ip('route', 'add', 'default', 'via', '198.18.2.1');
    // The server has no route to the inside: it can only answer the NAT's address.
    assert.doesNotMatch(srv.ip('route'), /198\.18\.2\./);
    await topo.daemon(srv);
    await topo.daemon(c1);
    await topo.daemon(c2);
    return { topo, srv, nat, c1, c2 };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

/** The NAT's conntrack table (this namespace only). */
function conntrack(nat: Machine): string {
  return nat.exec('cat', '/proc/net/nf_conntrack');
}

/** `ping -c n` in the background; resolves to the number of answers. */
function pingAsync(m: Machine, dst: string, n: number): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', m.ns, 'ping', '-n', '-c', String(n), '-i', '0.2', '-W', '2', dst], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout!.setEncoding('utf8');
    p.stdout!.on('data', (d: string) => { out += d; });
    p.once('exit', () => resolve(Number(/(\d+) received/.exec(out)?.[1] ?? 0)));
  });
}

function keyValues(text: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([\w-]+): "?([^"]*)"?\s*$/.exec(line);
    if (m) r[m[1]] = m[2];
  }
  return r;
}

/** The server's pptp(8) GRE counters of a user's call (`monitor` of its /interface pptp-server row). */
async function serverGre(srv: Machine, user: string): Promise<{ rx: number; tx: number }> {
  const kv = keyValues(await srv.cmd(`/interface pptp-server monitor [find user=${user}] once`));
  assert.ok(kv['gre-rx-accepted'] !== undefined, `monitor of ${user} shows GRE counters`);
  return { rx: Number(kv['gre-rx-accepted']), tx: Number(kv['gre-tx-sent']) };
}

const gone = (user: string) => new RegExp(`^(?![\\s\\S]*\\b${user}\\b)`);

test('pptp through a real NAT (conntrack helper): two clients behind one address each get their own call and GRE stream, MPPE-128', async (t) => {
  const { topo, srv, nat, c1, c2 } = await natLab('p', true);
  try {
    await srv.cmd('/ppp secret add name=u1 service=pptp password=p1-secret local-address=198.19.0.1 remote-address=198.19.0.2');
    await srv.cmd('/ppp secret add name=u2 service=pptp password=p2-secret local-address=198.19.0.5 remote-address=198.19.0.6');
    // The server's default-profile is default-encryption (use-encryption=yes): MPPE-128 stateless.
    await srv.cmd('/interface pptp-server server set enabled=yes');
    await c1.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await c2.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u2 password=p2-secret disabled=no');
    for (const c of [c1, c2]) {
      const mon = await waitOutput(c, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/, 30000);
      assert.match(mon, /encoding: "MPPE128 stateless"/);
    }
    const active = await waitOutput(srv, '/ppp active print', /\bu1\b[\s\S]*\bu2\b|\bu2\b[\s\S]*\bu1\b/);
    assert.match(active, /u1\s+pptp\s+198\.18\.1\.254\s+198\.19\.0\.2\b/, 'u1 is seen as the NAT address');
    assert.match(active, /u2\s+pptp\s+198\.18\.1\.254\s+198\.19\.0\.6\b/, 'u2 is seen as the NAT address');
    assert.equal((active.match(/MPPE128 stateless/g) ?? []).length, 2);
    const links = srv.ip('-o', 'link', 'show');
    assert.match(links, /<pptp-u1>/);
    assert.match(links, /<pptp-u2>/);

    // Both GRE streams go through one outside address, each with its own conntrack entry.
    const gre = conntrack(nat).split('\n').filter((l) => /\bgre\b/.test(l) && /src=198\.18\.1\.1 dst=198\.18\.1\.254/.test(l));
    t.diagnostic(`NAT conntrack, GRE: ${gre.join(' | ')}`);
    assert.equal(gre.length, 2, `two GRE streams in the NAT's conntrack table:\n${gre.join('\n')}`);
    const replyKeys = gre.map((l) => /src=198\.18\.1\.1 dst=198\.18\.1\.254 srckey=(0x[0-9a-f]+) dstkey=(0x[0-9a-f]+)/.exec(l)?.[2]);
    assert.notEqual(replyKeys[0], replyKeys[1], 'each call has its own Call ID on the outside');

    // Wait for the first echo on each (interfaces are configured right after PPP is up).
    await waitFor(() => c1.ping('198.19.0.1', 1) === 1, 15000, 'first echo through c1');
    await waitFor(() => c2.ping('198.19.0.5', 1) === 1, 15000, 'first echo through c2');
    const g1 = await serverGre(srv, 'u1');
    const g2 = await serverGre(srv, 'u2');
    // At the same time, each through its own tunnel to its own server address.
    const [r1, r2] = await Promise.all([pingAsync(c1, '198.19.0.1', 15), pingAsync(c2, '198.19.0.5', 15)]);
    assert.equal(r1, 15, 'c1 -> server through the NAT');
    assert.equal(r2, 15, 'c2 -> server through the NAT');
    const g1b = await serverGre(srv, 'u1');
    const g2b = await serverGre(srv, 'u2');
    assert.ok(g1b.rx - g1.rx >= 15 && g1b.tx - g1.tx >= 15, `u1's GRE counters moved: ${JSON.stringify([g1, g1b])}`);
    assert.ok(g2b.rx - g2.rx >= 15 && g2b.tx - g2.tx >= 15, `u2's GRE counters moved: ${JSON.stringify([g2, g2b])}`);
    assert.equal(srv.ping('198.19.0.2', 2), 2, 'server -> c1');
    assert.equal(srv.ping('198.19.0.6', 2), 2, 'server -> c2');

    // c1 hangs up; c2 keeps passing traffic and only u2's counters move.
    await c1.cmd('/interface pptp-client disable pptp-out1');
    await waitOutput(srv, '/ppp active print', gone('u1'));
    await waitFor(() => !/<pptp-u1>/.test(srv.ip('-o', 'link', 'show')), 10000, 'server TUN <pptp-u1> removed');
    assert.match(await srv.cmd('/ppp active print'), /u2\s+pptp\s+198\.18\.1\.254/);
    const g2c = await serverGre(srv, 'u2');
    assert.equal(await pingAsync(c2, '198.19.0.5', 10), 10, 'c2 undisturbed by c1 hanging up');
    const g2d = await serverGre(srv, 'u2');
    assert.ok(g2d.rx - g2c.rx >= 10 && g2d.tx - g2c.tx >= 10, `u2's GRE counters still move: ${JSON.stringify([g2c, g2d])}`);
    assert.match(await c2.cmd('/interface pptp-client monitor pptp-out1 once'), /status: "?connected/);

    // c1 dials again through the same NAT and gets a fresh call next to u2's.
    await c1.cmd('/interface pptp-client enable pptp-out1');
    await waitOutput(c1, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/, 30000);
    await waitFor(() => c1.ping('198.19.0.1', 1) === 1, 15000, 'traffic after c1 redials');
    const [r1b, r2b] = await Promise.all([pingAsync(c1, '198.19.0.1', 5), pingAsync(c2, '198.19.0.5', 5)]);
    assert.deepEqual([r1b, r2b], [5, 5], 'both pass traffic again');
  } finally {
    await topo.destroy();
  }
});

test('l2tp through a real NAT: two LACs from UDP 1701 behind one address, the LNS answers each at its own port', async (t) => {
  const { topo, srv, nat, c1, c2 } = await natLab('l', true);
  try {
    await srv.cmd('/ip pool add name=l2tp-pool ranges=198.19.10.10-198.19.10.50');
    await srv.cmd('/ppp profile add name=l2tp-prof local-address=198.19.10.1 remote-address=l2tp-pool use-encryption=yes');
    await srv.cmd('/ppp secret add name=u1 password=p1-secret service=l2tp profile=l2tp-prof');
    await srv.cmd('/ppp secret add name=u2 password=p2-secret service=l2tp profile=l2tp-prof');
    await srv.cmd('/interface l2tp-server server set enabled=yes');
    await c1.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await c2.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u2 password=p2-secret disabled=no');
    const addr = new Map<Machine, string>();
    for (const c of [c1, c2]) {
      const mon = await waitOutput(c, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 30000);
      assert.match(mon, /encoding: "?MPPE128/);
      addr.set(c, /local-address: (198\.19\.10\.\d+)/.exec(mon)![1]);
    }
    assert.notEqual(addr.get(c1), addr.get(c2));
    const active = await waitOutput(srv, '/ppp active print', /\bu1\b[\s\S]*\bu2\b|\bu2\b[\s\S]*\bu1\b/);
    assert.match(active, /u1\s+l2tp\s+198\.18\.1\.254\b/, 'u1 is seen as the NAT address');
    assert.match(active, /u2\s+l2tp\s+198\.18\.1\.254\b/, 'u2 is seen as the NAT address');

    // The NAT really moved one of them off port 1701 (counted after source NAT), and both
    // tunnels are one UDP flow each through the NAT's outside address.
    const moved = nat.exec('nft', 'list', 'counter', 'ip', 'culvert_nat', 'moved_1701');
    assert.ok(Number(/packets (\d+)/.exec(moved)?.[1] ?? 0) > 0, `one LAC left the NAT from another port:\n${moved}`);
    const udp = conntrack(nat).split('\n').filter((l) => /\budp\b/.test(l) && /dst=198\.18\.1\.1 sport=1701 dport=1701/.test(l));
    t.diagnostic(`NAT conntrack, L2TP: ${udp.join(' | ')}`);
    assert.equal(udp.length, 2, `two UDP flows in the NAT's conntrack table:\n${udp.join('\n')}`);
    const outside = udp.map((l) => /src=198\.18\.1\.1 dst=198\.18\.1\.254 sport=1701 dport=(\d+)/.exec(l)?.[1]);
    assert.equal(new Set(outside).size, 2, `distinct outside ports ${outside.join(', ')}`);

    await waitFor(() => c1.ping('198.19.10.1', 1) === 1, 15000, 'first echo through c1');
    await waitFor(() => c2.ping('198.19.10.1', 1) === 1, 15000, 'first echo through c2');
    const [r1, r2] = await Promise.all([pingAsync(c1, '198.19.10.1', 15), pingAsync(c2, '198.19.10.1', 15)]);
    assert.deepEqual([r1, r2], [15, 15], 'both tunnels pass traffic at the same time');
    assert.equal(srv.ping(addr.get(c1)!, 2), 2, 'server -> c1');
    assert.equal(srv.ping(addr.get(c2)!, 2), 2, 'server -> c2');

    // c1 hangs up; c2 keeps working.
    await c1.cmd('/interface l2tp-client disable l2tp-out1');
    await waitOutput(srv, '/ppp active print', gone('u1'));
    await waitFor(() => !/<l2tp-u1>/.test(srv.ip('-o', 'link', 'show')), 10000, 'server TUN <l2tp-u1> removed');
    assert.equal(await pingAsync(c2, '198.19.10.1', 10), 10, 'c2 undisturbed by c1 hanging up');
    assert.match(await c2.cmd('/interface l2tp-client monitor l2tp-out1 once'), /status: "?connected/);
    assert.match(await srv.cmd('/ppp active print'), /u2\s+l2tp\s+198\.18\.1\.254/);
  } finally {
    await topo.destroy();
  }
});

test('pptp through a NAT without the conntrack helper: no call gets through, cleanly; with the helper for the first client only, the second fails and the first keeps working', async () => {
  const { topo, srv, nat, c1, c2 } = await natLab('n', false);
  const alive = () => {
    for (const m of [srv, c1, c2]) assert.equal(m.daemon!.proc.exitCode, null, `${m.name} daemon still running`);
  };
  try {
    await srv.cmd('/ppp secret add name=u1 service=pptp password=p1-secret local-address=198.19.0.1 remote-address=198.19.0.2');
    await srv.cmd('/ppp secret add name=u2 service=pptp password=p2-secret local-address=198.19.0.5 remote-address=198.19.0.6');
    await srv.cmd('/interface pptp-server server set enabled=yes');

    // No helper: the control connection passes (plain TCP masquerade), GRE does not come back.
    // Conntrack keys GRE by Call ID; without the helper it never learns c1's, so the server's
    // GRE (Key = c1's Call ID) does not match c1's entry and ends at the NAT box itself.
    await c1.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await waitFor(() => /src=198\.18\.1\.1 dst=198\.18\.1\.254 srckey=0x0 dstkey=0x[0-9a-f]+ \[UNREPLIED\]/.test(conntrack(nat)), 15000, `the server's GRE stranded at the NAT:\n${conntrack(nat)}`);
    await new Promise((r) => setTimeout(r, 4000));
    const mon = await c1.cmd('/interface pptp-client monitor pptp-out1 once');
    assert.doesNotMatch(mon, /status: "?connected/);
    assert.match(mon, /gre-rx-accepted: 0\b/, 'c1 received no GRE');
    assert.match(mon, /gre-tx-sent: [1-9]/, 'c1 did send GRE');
    assert.doesNotMatch(await srv.cmd('/ppp active print'), /\bu1\b/);
    alive();

    // The helper for new control connections; c1 redials and gets in, no daemon restarted.
    nat.exec('nft', 'add', 'rule', 'ip', 'culvert_nat', 'pre', ...HELPER_RULE);
    await c1.cmd('/interface pptp-client disable pptp-out1');
    await c1.cmd('/interface pptp-client enable pptp-out1');
    await waitOutput(c1, '/interface pptp-client monitor pptp-out1 once', /status: "?connected/, 30000);
    await waitFor(() => c1.ping('198.19.0.1', 1) === 1, 15000, 'first echo through c1');
    assert.match(await waitOutput(srv, '/ppp active print', /\bu1\b/), /u1\s+pptp\s+198\.18\.1\.254/);

    // The helper rule goes again: c1's call keeps its learned Call IDs, c2's new one has none.
    nat.exec('nft', 'flush', 'chain', 'ip', 'culvert_nat', 'pre');
    const p1 = pingAsync(c1, '198.19.0.1', 40);
    await c2.cmd('/interface pptp-client add connect-to=198.18.1.1 user=u2 password=p2-secret disabled=no');
    await new Promise((r) => setTimeout(r, 6000));
    const mon2 = await c2.cmd('/interface pptp-client monitor pptp-out1 once');
    assert.doesNotMatch(mon2, /status: "?connected/, 'c2 does not get through');
    assert.match(mon2, /gre-rx-accepted: 0\b/, "c2's call received no GRE");
    assert.equal(await p1, 40, 'c1 kept passing traffic while c2 tried');
    const active = await srv.cmd('/ppp active print');
    assert.match(active, /u1\s+pptp\s+198\.18\.1\.254/, 'the server still serves u1');
    assert.doesNotMatch(active, /\bu2\b/);
    assert.match(await c1.cmd('/interface pptp-client monitor pptp-out1 once'), /status: "?connected/);
    alive();
  } finally {
    await topo.destroy();
  }
});

/** Apply an nft script in the NAT's namespace (one transaction). */
function nft(nat: Machine, script: string): void {
  execFileSync('ip', ['netns', 'exec', nat.ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

test('l2tp through a NAT that rebinds: the NAT moves one LAC to a new outside port mid-tunnel; the LNS follows the tunnel there, no redial, the other LAC undisturbed', async () => {
  // A Hello every 2 s (daemons inherit the environment): the LAC's next control message
  // after the move is what shows the LNS the new port (data alone never moves a tunnel).
  process.env.CULVERT_L2TP_HELLO = '2';
  let lab: NatLab;
  try {
    lab = await natLab('r', true);
  } finally {
    delete process.env.CULVERT_L2TP_HELLO;
  }
  const { topo, srv, nat, c1, c2 } = lab;
  try {
    // c1's L2TP leaves as 198.18.1.254:40001 (c2 keeps plain masquerade).
    nft(nat, 'insert rule ip culvert_nat post ip saddr 198.18.2.2 oifname "ether1" udp sport 1701 snat to 198.18.1.254:40001\n');
    await srv.cmd('/ip pool add name=l2tp-pool ranges=198.19.10.10-198.19.10.50');
    await srv.cmd('/ppp profile add name=l2tp-prof local-address=198.19.10.1 remote-address=l2tp-pool use-encryption=yes');
    await srv.cmd('/ppp secret add name=u1 password=p1-secret service=l2tp profile=l2tp-prof');
    await srv.cmd('/ppp secret add name=u2 password=p2-secret service=l2tp profile=l2tp-prof');
    await srv.cmd('/interface l2tp-server server set enabled=yes');
    await c1.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u1 password=p1-secret disabled=no');
    await c2.cmd('/interface l2tp-client add name=l2tp-out1 connect-to=198.18.1.1 user=u2 password=p2-secret disabled=no');
    for (const c of [c1, c2]) await waitOutput(c, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/, 30000);
    await waitOutput(srv, '/ppp active print', /\bu1\b[\s\S]*\bu2\b|\bu2\b[\s\S]*\bu1\b/);
    await waitFor(() => c1.ping('198.19.10.1', 1) === 1, 15000, 'first echo through c1');
    await waitFor(() => c2.ping('198.19.10.1', 1) === 1, 15000, 'first echo through c2');
    assert.match(conntrack(nat), /src=198\.18\.2\.2 dst=198\.18\.1\.1 sport=1701 dport=1701 src=198\.18\.1\.1 dst=198\.18\.1\.254 sport=1701 dport=40001/);

    // The move must not land while a control message of c1's is still unacknowledged: its
    // retransmission from the new port is a duplicate to the LNS, which (by design: a
    // duplicate proves nothing) neither follows it nor answers it there, so the call would
    // end when c1's retries run out (see the report of issue #6). So move right after the
    // LNS acknowledged c1's last one: a ZLB (T bit, 12-octet L2TP header) to :40001. c1's
    // next Hello is then 2 s away, a new message the LNS follows.
    nft(nat, [
      'add counter ip culvert_nat zlb_c1',
      'add chain ip culvert_nat watch { type filter hook prerouting priority raw; policy accept; }',
      'add rule ip culvert_nat watch iifname "ether1" udp dport 40001 udp length 20 @th,64,1 1 counter name zlb_c1',
      '',
    ].join('\n'));
    const zlbs = () => Number(/packets (\d+)/.exec(nat.exec('nft', 'list', 'counter', 'ip', 'culvert_nat', 'zlb_c1'))?.[1] ?? 0);
    const z0 = zlbs();
    await waitFor(() => zlbs() > z0, 10000, 'the LNS acknowledges a Hello of c1');

    // The rebinding: c1's flow gets a fresh conntrack zone, so its old mapping no longer
    // applies in either direction (answers to :40001 die at the NAT) and its next packet
    // leaves from :40002, as after a NAT's mapping timed out.
    nft(nat, [
      'flush chain ip culvert_nat post',
      'add rule ip culvert_nat post ip saddr 198.18.2.2 oifname "ether1" udp sport 1701 snat to 198.18.1.254:40002',
      'add rule ip culvert_nat post ip saddr 198.18.2.0/24 oifname "ether1" masquerade',
      'add chain ip culvert_nat zone { type filter hook prerouting priority raw; policy accept; }',
      'add rule ip culvert_nat zone ip saddr 198.18.2.2 ct zone set 1',
      'add rule ip culvert_nat zone iifname "ether1" udp dport { 40001, 40002 } ct zone set 1',
      '',
    ].join('\n'));
    const terminated = () => (c1.daemon!.stderr().match(/l2tp-out1: terminated/g) ?? []).length;
    const before = terminated();
    const p2 = pingAsync(c2, '198.19.10.1', 30);
    await waitFor(() => /peer moved from 198\.18\.1\.254:40001 to 198\.18\.1\.254:40002/.test(srv.daemon!.stderr()), 20000, `the LNS follows the tunnel; log:\n${srv.daemon!.stderr().slice(-3000)}\nconntrack:\n${conntrack(nat)}`);
    await waitFor(() => c1.ping('198.19.10.1', 1) === 1, 15000, 'c1 passes traffic again');
    assert.equal(await pingAsync(c1, '198.19.10.1', 10), 10, 'c1 through its new port');
    assert.equal(await p2, 30, 'c2 undisturbed while c1 moved');
    assert.match(conntrack(nat), /src=198\.18\.2\.2 dst=198\.18\.1\.1 sport=1701 dport=1701 src=198\.18\.1\.1 dst=198\.18\.1\.254 sport=1701 dport=40002 .*zone=1/);
    assert.equal(terminated(), before, 'no redial: the same call carried on');
    assert.match(await c1.cmd('/interface l2tp-client monitor l2tp-out1 once'), /status: "?connected/);
    const active = await srv.cmd('/ppp active print');
    assert.match(active, /u1\s+l2tp\s+198\.18\.1\.254\b/);
    assert.match(active, /u2\s+l2tp\s+198\.18\.1\.254\b/);
  } finally {
    await topo.destroy();
  }
});
