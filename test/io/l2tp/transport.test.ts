/**
 * The L2TP io adapter between two network namespaces: a culvert LAC in "a" (198.18.0.1)
 * and a culvert LNS in "b" (198.18.0.2), both on UDP 1701 with real TUNs; ping and iperf3
 * cross TUN -> PPP -> L2TP -> UDP -> L2TP -> PPP -> TUN. Per call n the LNS is 198.19.2.n
 * and the client 198.19.1.n.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { NetnsPair, type Child } from '../helpers/netns.js';

const run = promisify(execFile);
const NODE = fileURLToPath(new URL('./fixtures/node.js', import.meta.url));
const ENV = { CULVERT_FIXTURE: '1' };

interface World { net: NetnsPair; lac: Child; lns: Child }

async function world(tag: string, lnsOpts: Record<string, unknown> = {}, lacOpts: Record<string, unknown> = {}, start = true): Promise<World> {
  const net = NetnsPair.create(tag);
  try {
    const lns = net.spawn(net.b, NODE, [], ENV);
    const lac = net.spawn(net.a, NODE, [], ENV);
    await lns.call({ cmd: 'lns', local: '198.18.0.2', ...lnsOpts });
    if (start) await lac.call({ cmd: 'lac', local: '198.18.0.1', server: '198.18.0.2', ...lacOpts });
    return { net, lac, lns };
  } catch (e) {
    net.destroy();
    throw e;
  }
}

async function ping(ns: string, dst: string, count = 3): Promise<number> {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', String(count), '-i', '0.2', '-W', '2', dst]);
    return Number(/(\d+) received/.exec(stdout)?.[1] ?? 0);
  } catch (e) {
    return Number(/(\d+) received/.exec(String((e as { stdout?: string }).stdout ?? ''))?.[1] ?? 0);
  }
}

type Status = { calls: { status: string; local?: string; remote?: string; encoding?: string; bound: boolean; reason?: string; port?: { txPackets: number; rxPackets: number; drops: Record<string, number> }; sendSequence: boolean }[];
  tunnels: { local: number; peer: number; state: string; sessions: number; retransmissions: number; counters: Record<string, any> }[];
  tunnelDown?: { reason: string; result?: { resultCode: number; errorCode?: number } };
  stats: { drops: Record<string, number>; retransmissions: number; tunnelsOpened: number; tunnelsClosed: number };
  counters: { header: Record<string, number>; unknownTunnel: number };
  droppedControl: number; timeout?: boolean; log: string[] };

async function status(c: Child, cmd: Record<string, unknown> = { cmd: 'status' }): Promise<Status> {
  return (await c.call(cmd, 60_000)) as unknown as Status;
}

test('one call with MPPE-128: ping and iperf3 through the tunnel, both TUNs carry IPv4 only', async () => {
  const w = await world('l1', { mppe: true }, { mppe: true });
  const procs: ChildProcess[] = [];
  try {
    const up = await status(w.lac, { cmd: 'waitUp', n: 1 });
    assert.ok(!up.timeout, `LAC call up: ${JSON.stringify(up.log.slice(-20))}`);
    assert.equal(up.calls[0].status, 'connected');
    assert.equal(up.calls[0].local, '198.19.1.1');
    assert.equal(up.calls[0].remote, '198.19.2.1');
    assert.match(up.calls[0].encoding ?? '', /MPPE128/);
    await status(w.lns, { cmd: 'waitUp', n: 1 });
    assert.equal(await ping(w.net.a, '198.19.2.1', 5), 5, 'every echo answered');
    assert.equal(await ping(w.net.b, '198.19.1.1', 3), 3, 'and the other way');

    // iperf3 through the tunnel: bytes arrive (no speed asserted).
    const srv = spawn('ip', ['netns', 'exec', w.net.b, 'iperf3', '-s', '-1', '-B', '198.19.2.1'], { stdio: 'ignore' });
    procs.push(srv);
    await new Promise((r) => setTimeout(r, 300));
    const { stdout } = await run('ip', ['netns', 'exec', w.net.a, 'timeout', '30', 'iperf3', '-c', '198.19.2.1', '-t', '2', '-J']);
    const j = JSON.parse(stdout) as { end: { sum_received: { bytes: number } } };
    assert.ok(j.end.sum_received.bytes > 100_000, `iperf3 moved ${j.end.sum_received.bytes} bytes`);

    // IPv6 routed into the TUN never enters the tunnel (no IPV6CP): dropped and counted.
    const tun = (await status(w.lac)).calls[0] as unknown as { tun: string };
    await run('ip', ['-n', w.net.a, '-6', 'addr', 'add', 'fd00:198:18::1/64', 'dev', tun.tun, 'nodad']);
    await run('ip', ['netns', 'exec', w.net.a, 'ping', '-6', '-n', '-c', '2', '-i', '0.2', '-W', '1', 'fd00:198:18::2']).catch(() => undefined);
    const st = await status(w.lac);
    assert.ok(st.calls[0].port!.txPackets > 100);
    assert.ok(st.calls[0].port!.drops.notIpv4 >= 2, `IPv6 dropped at the TUN: ${JSON.stringify(st.calls[0].port)}`);
    assert.equal(st.stats.drops['data.sequence'] ?? 0, 0);
  } finally {
    for (const p of procs) if (p.exitCode === null && p.pid) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    w.net.destroy();
  }
});

test('20 sessions in one tunnel: every session passes its own traffic', async () => {
  const w = await world('l20', {}, { sessions: 20 });
  try {
    const up = await status(w.lac, { cmd: 'waitUp', n: 20, timeoutMs: 40_000 });
    assert.ok(!up.timeout, `20 calls up: ${up.calls.filter((c) => c.bound).length} bound; ${JSON.stringify(up.log.slice(-10))}`);
    assert.equal(up.tunnels.length, 1, 'one tunnel');
    assert.equal(up.tunnels[0].sessions, 20, 'with 20 sessions');
    const lns = await status(w.lns, { cmd: 'waitUp', n: 20, timeoutMs: 20_000 });
    assert.equal(lns.tunnels.length, 1);
    const remotes = up.calls.map((c) => c.remote!).sort();
    assert.equal(new Set(remotes).size, 20);
    const got = await Promise.all(remotes.map((r) => ping(w.net.a, r, 2)));
    assert.deepEqual(got, remotes.map(() => 2), 'each of the 20 sessions answered both echoes');
    // Hang up one session: the other 19 and the tunnel stay.
    await w.lac.call({ cmd: 'hangup', i: 0 });
    await new Promise((r) => setTimeout(r, 1500));
    const after = await status(w.lac);
    assert.equal(after.calls[0].status, 'terminated');
    assert.equal(after.tunnels[0].state, 'established');
    assert.equal(after.tunnels[0].sessions, 19);
    assert.equal(await ping(w.net.a, up.calls[1].remote!, 2), 2);
  } finally {
    w.net.destroy();
  }
});

test('hang-up from the client: LCP terminate, CDN, StopCCN; both sides terminated, TUNs gone', async () => {
  const w = await world('lh');
  try {
    assert.ok(!(await status(w.lac, { cmd: 'waitUp', n: 1 })).timeout);
    await status(w.lns, { cmd: 'waitUp', n: 1 });
    await w.lac.call({ cmd: 'hangup', i: 0 });
    const lac = await status(w.lac, { cmd: 'waitDown', tunnel: true });
    assert.ok(!lac.timeout);
    assert.equal(lac.calls[0].status, 'terminated');
    const lns = await status(w.lns, { cmd: 'waitDown' });
    assert.ok(!lns.timeout, 'server saw the hang-up');
    assert.match(lns.calls[0].reason ?? '', /test hang-up|peer|terminat/i);
    const links = (await run('ip', ['-n', w.net.b, '-o', 'link', 'show'])).stdout;
    assert.doesNotMatch(links, /l2tps/, 'server TUN removed');
  } finally {
    w.net.destroy();
  }
});

test('hang-up from the server (shutdown): StopCCN result 6 reaches the client', async () => {
  const w = await world('ls');
  try {
    assert.ok(!(await status(w.lac, { cmd: 'waitUp', n: 1 })).timeout);
    await w.lns.call({ cmd: 'closeAll' });
    const lac = await status(w.lac, { cmd: 'waitDown', tunnel: true });
    assert.ok(!lac.timeout);
    assert.equal(lac.tunnelDown?.result?.resultCode, 6);
    assert.equal(await ping(w.net.a, '198.19.2.1', 1), 0);
  } finally {
    w.net.destroy();
  }
});

test('a lost control message (the SCCRP) is recovered by retransmission', async () => {
  const w = await world('lr', {}, {}, false);
  try {
    await w.lns.call({ cmd: 'dropControl', n: 1 });
    await w.lac.call({ cmd: 'lac', local: '198.18.0.1', server: '198.18.0.2', initialRtoMs: 300 });
    const up = await status(w.lac, { cmd: 'waitUp', n: 1 });
    assert.ok(!up.timeout);
    const lns = await status(w.lns);
    assert.equal(lns.droppedControl, 1, 'one control message was lost');
    assert.ok(lns.stats.retransmissions + up.stats.retransmissions >= 1, 'and sent again');
    assert.equal(await ping(w.net.a, '198.19.2.1', 2), 2);
  } finally {
    w.net.destroy();
  }
});

test('a client on an ephemeral port that changes its UDP port mid-tunnel is followed by the LNS (after its Hello)', async () => {
  // Hello after 1 s of silence: what tells the LNS where the client went (data alone proves nothing).
  const w = await world('lp', {}, { sessions: 2, port: 0, hello: 1 });
  try {
    const up = await status(w.lac, { cmd: 'waitUp', n: 2 });
    assert.ok(!up.timeout);
    assert.equal(await ping(w.net.a, up.calls[1].remote!, 2), 2);
    const moved = await w.lac.call({ cmd: 'movePort', local: '198.18.0.1', port: 40123 });
    assert.equal(moved.port, 40123);
    // Replies still go to the old port: the client hears nothing, sends a Hello from the new one.
    await new Promise((r) => setTimeout(r, 2500));
    const got = await ping(w.net.a, up.calls[1].remote!, 3);
    assert.equal(await ping(w.net.a, up.calls[0].remote!, 2), 2, 'both sessions');
    const dbg = await status(w.lns);
    assert.equal(got, 3, `the other session passes traffic on the new port: ${JSON.stringify(dbg.log.slice(-15))} ${JSON.stringify((await status(w.lac)).log.slice(-10))}`);
    const lns = await status(w.lns);
    assert.ok(lns.log.some((l) => /peer moved .* to 198\.18\.0\.1:40123/.test(l)), 'the LNS followed the peer');
    assert.equal(lns.calls.filter((c) => c.status === 'connected').length, 2);
  } finally {
    w.net.destroy();
  }
});

test('a silent server is detected by the tunnel Hello', async () => {
  // PPP echoes off on the client, so only the L2TP Hello can notice.
  const w = await world('lk', {}, { hello: 1, retries: 2, initialRtoMs: 500, maxRtoMs: 8000, linkKeepalive: 0 });
  try {
    assert.ok(!(await status(w.lac, { cmd: 'waitUp', n: 1 })).timeout);
    await w.lns.call({ cmd: 'mute' });
    const lac = await status(w.lac, { cmd: 'waitDown', tunnel: true, timeoutMs: 20_000 });
    assert.ok(!lac.timeout, `client noticed: ${JSON.stringify(lac.log.slice(-10))}`);
    assert.match(lac.tunnelDown?.reason ?? '', /not responding/);
    assert.equal(lac.calls[0].status, 'terminated');
  } finally {
    w.net.destroy();
  }
});

test('bad input at a live LNS: answered per RFC 2661 or dropped and counted; the running session keeps passing traffic', async () => {
  const SECRET = 'bad-input-secret';
  const w = await world('lb', { secret: SECRET }, { secret: SECRET });
  try {
    assert.ok(!(await status(w.lac, { cmd: 'waitUp', n: 1 })).timeout);
    await status(w.lns, { cmd: 'waitUp', n: 1 });
    // A background ping runs through the good session the whole time.
    const bg = run('ip', ['netns', 'exec', w.net.a, 'ping', '-n', '-c', '40', '-i', '0.25', '-W', '2', '198.19.2.1']).then((r) => r.stdout, (e) => String(e.stdout));
    const bad = (c: string) => w.lac.call({ cmd: 'bad', case: c, local: '198.18.0.1', server: '198.18.0.2', secret: SECRET, avoidTunnels: [] }, 30_000) as Promise<any>;

    const before = await status(w.lns);
    let r = await bad('truncated');
    assert.equal(r.tunnelState, 'established', 'no answer tears anything down');
    let st = await status(w.lns);
    assert.equal((st.counters.header.L2TP_ERR_TRUNCATED ?? 0) - (before.counters.header.L2TP_ERR_TRUNCATED ?? 0), 2);
    assert.equal((st.counters.header.L2TP_ERR_VERSION_L2F ?? 0) - (before.counters.header.L2TP_ERR_VERSION_L2F ?? 0), 1);

    r = await bad('overrun');
    assert.equal(r.down?.result?.resultCode, 2, 'StopCCN result 2 (general error)');
    assert.equal(r.down?.result?.errorCode, 2, 'error 2 (bad length)');

    r = await bad('unknownMandatory');
    assert.equal(r.down?.result?.resultCode, 2);
    assert.equal(r.down?.result?.errorCode, 8, 'error 8 (unknown mandatory AVP)');

    r = await bad('sessionUnknownMandatory');
    assert.equal(r.sessionDown?.result?.resultCode, 2, 'CDN result 2');
    assert.equal(r.sessionDown?.result?.errorCode, 8);
    assert.equal(r.tunnelState, 'established', 'only the session was cleared');

    r = await bad('hiddenLies');
    assert.equal(r.sessionDown?.result?.resultCode, 2, 'CDN result 2');
    assert.equal(r.sessionDown?.result?.errorCode, 2, 'error 2 (bad length)');

    r = await bad('nsWindow');
    assert.equal(r.tunnelState, 'established', 'the StopCCN outside the window was not processed');

    const good = await status(w.lns);
    r = await bad('unknownIds');
    assert.equal(r.tunnelState, 'established');
    st = await status(w.lns);
    assert.ok(st.stats.drops.nsOutOfWindow >= 1, 'Ns outside the window counted');
    assert.ok((st.stats.drops['decode.L2TP_ERR_HIDDEN_AVP_LENGTH'] ?? 0) >= 1, 'hidden length counted');
    assert.equal((st.stats.drops.unknownTunnel ?? 0) - (good.stats.drops.unknownTunnel ?? 0), 2, 'control and data for an unknown tunnel');
    assert.ok((st.stats.drops.unknownSession ?? 0) >= 1, 'data for an unknown session');

    const out = await bg;
    const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
    assert.ok(received >= 38, `the good session kept passing traffic: ${received}/40 echoes (${out.slice(-200)})`);
    const fin = await status(w.lns);
    assert.equal(fin.calls[0].status, 'connected', 'the good call is still up');
  } finally {
    w.net.destroy();
  }
});
