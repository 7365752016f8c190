/**
 * The Runtime seam through a whole Daemon (in-process, NullHost, REST on loopback): a
 * runtime registered by factory is told of the configuration, its connected user appears
 * as a dynamic interface and in /ppp active (console and REST), vanishes when it
 * disconnects, its counters reach GET /metrics, and stop() tears it down.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Daemon } from '../../src/mgmt/daemon.js';
import { NullHost } from '../../src/mgmt/host.js';
import type { ConfigView, DynamicItem, Runtime } from '../../src/mgmt/runtime.js';
import type { MetricsSink } from '../../src/mgmt/metrics.js';
import type { ResolvedSession } from '../../src/mgmt/session.js';
import { ControlClient } from '../../src/cli/client.js';
import { tmpDir } from './helpers.js';

/** A stand-in PPTP server runtime: "connects" users on demand using the daemon's resolver. */
class StubPptpServer implements Runtime {
  readonly name = 'stub-pptp-server';
  enabled = false;
  stopped = false;
  sessions = new Map<string, { s: ResolvedSession; key: string }>();
  private n = 0;
  constructor(private readonly daemon: Daemon) {}
  configChanged(view: ConfigView): void {
    this.enabled = view.single('/interface pptp-server server').enabled === 'yes';
  }
  connect(user: string): void {
    const s = this.daemon.resolver.resolveSession(user, 'pptp', '198.18.50.9');
    this.sessions.set(user, { s, key: `pptp-${user}#${++this.n}` });
  }
  disconnect(user: string): void {
    this.sessions.get(user)?.s.release();
    this.sessions.delete(user);
  }
  dynamicItems(menu: string): DynamicItem[] | undefined {
    const rows = [...this.sessions.values()];
    if (menu === '/interface pptp-server') return rows.map(({ s, key }) => ({ key, running: true, values: { name: `pptp-${s.user}`, user: s.user, mtu: '1460', 'client-address': '198.18.50.9', uptime: '6m32s', encoding: 'MPPE128 stateless' } }));
    if (menu === '/ppp active') return rows.map(({ s, key }) => ({ key, values: { name: s.user, service: 'pptp', 'caller-id': s.callerId, address: s.remoteAddress ?? '', uptime: '6m32s', encoding: 'MPPE128 stateless' } }));
    return undefined;
  }
  removeDynamic(menu: string, key: string): boolean {
    for (const [u, v] of this.sessions) if (v.key === key) { this.disconnect(u); return true; }
    return false;
  }
  collectMetrics(sink: MetricsSink): void {
    for (const { s } of this.sessions.values()) {
      sink.add('culvert_tunnel_rx_bytes_total', { interface: `pptp-${s.user}`, service: 'pptp', role: 'server' }, 4242);
    }
    sink.add('culvert_auth_failures_total', { service: 'pptp' }, 3);
  }
  async stop(): Promise<void> {
    for (const u of [...this.sessions.keys()]) this.disconnect(u);
    this.stopped = true;
  }
}

describe('runtime registry through the daemon', () => {
  it('dynamic entries, /ppp active, metrics and teardown', async () => {
    const dir = tmpDir();
    let stub!: StubPptpServer;
    const logs: string[] = [];
    const d = new Daemon({
      dataDir: path.join(dir, 'data'),
      socketPath: path.join(dir, 'run', 'c.sock'),
      restPort: 0,
      host: new NullHost(),
      log: (level, msg) => logs.push(`${level} ${msg}`),
      runtimes: [(daemon) => (stub = new StubPptpServer(daemon))],
    });
    await d.start();
    const c = await ControlClient.connect(d.opts.socketPath);
    try {
      for (const cmd of [
        '/ip pool add name=vpn ranges=198.18.60.10-198.18.60.20',
        '/ppp profile set default-encryption local-address=198.18.60.1 remote-address=vpn',
        '/ppp secret add name=ex password=lkjrht service=pptp',
        '/interface pptp-server add user=ex1',
        '/interface pptp-server server set enabled=yes',
      ]) assert.equal((await c.run(cmd)).ok, true, cmd);
      assert.equal(stub.enabled, true, 'runtime saw the server enabled');

      stub.connect('ex');
      const pr = (await c.run('/interface pptp-server print')).output!;
      assert.match(pr, /^ {2}0 {2}DR <pptp-ex> +ex +1460 +198\.18\.50\.9 +6m32s +MPPE128 stateless$/m);
      assert.match(pr, /^ {2}1 {5}pptp-in1 +ex1$/m);
      assert.match((await c.run('/ppp active print')).output!, /0\s+ex\s+pptp\s+198\.18\.50\.9\s+198\.18\.60\.10\s+6m32s/);
      assert.equal((await c.run('/ip pool used print')).output!, '  # POOL                 ADDRESS         OWNER\n  0 vpn                  198.18.60.10    ex\n');

      const dd = d as unknown as { restServer?: { address(): { port: number } } };
      assert.equal(dd.restServer, undefined, 'REST off when --rest-port is 0');
      c.close();
    } finally {
      await d.stop();
    }
    assert.equal(stub.stopped, true, 'runtime stopped on daemon stop');
    assert.equal(stub.sessions.size, 0);
    assert.ok(!fs.existsSync(d.opts.socketPath));
    assert.ok(!logs.some((l) => l.includes('lkjrht')), 'no password in the log');
  });

  it('REST shows dynamic rows and runtime metrics; DELETE on /ppp active disconnects', async () => {
    const dir = tmpDir();
    let stub!: StubPptpServer;
    const d = new Daemon({
      dataDir: path.join(dir, 'data'),
      socketPath: path.join(dir, 'run', 'c.sock'),
      restPort: -1, // any free port on loopback
      restAddress: '127.0.0.1',
      host: new NullHost(),
      log: () => undefined,
      runtimes: [(daemon) => (stub = new StubPptpServer(daemon))],
    });
    await d.start();
    try {
      await d.engine.run('/ppp secret add name=ex password=x', { cwd: '/', numbers: new Map() });
      stub.connect('ex');
      const token = d.token();
      const base = `http://127.0.0.1:${d.restPort}`;
      const get = async (p: string) => (await fetch(base + p, { headers: { authorization: `Bearer ${token}` } }));
      const active = (await (await get('/rest/ppp/active')).json()) as Record<string, string>[];
      assert.equal(active.length, 1);
      assert.equal(active[0].name, 'ex');
      const ifs = (await (await get('/rest/interface/pptp-server')).json()) as Record<string, string>[];
      assert.deepEqual(ifs.map((r) => [r.name, r.dynamic, r.running]), [['pptp-ex', 'yes', 'yes']]);
      const m = await (await get('/metrics')).text();
      assert.match(m, /^culvert_tunnel_rx_bytes_total\{interface="pptp-ex",role="server",service="pptp"\} 4242$/m);
      assert.match(m, /^culvert_server_sessions\{service="pptp"\} 1$/m);
      assert.match(m, /^culvert_auth_failures_total\{service="pptp"\} 3$/m);
      const del = await fetch(`${base}/rest/ppp/active/${encodeURIComponent(active[0]['.id'])}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      assert.equal(del.status, 204);
      assert.equal(stub.sessions.size, 0, 'disconnected');
      assert.deepEqual(await (await get('/rest/ppp/active')).json(), []);
    } finally {
      await d.stop();
    }
  });
});
