/**
 * The console engine in-process, with a fake tunnel runtime: dynamic entries (flag D),
 * running flags, monitor, /ppp active, numbering from the last print, find, abbreviations,
 * completion, and that a failing command changes nothing.
 */
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, newSession, type Session } from '../../src/mgmt/engine.js';
import { NullHost } from '../../src/mgmt/host.js';
import { emptyConfig, type ConfigData } from '../../src/mgmt/model.js';
import { RuntimeRegistry, type ConfigView, type DynamicItem, type Runtime } from '../../src/mgmt/runtime.js';
import { MetricsRegistry } from '../../src/mgmt/metrics.js';
import { MENUS } from '../../src/mgmt/schema.js';
import { CulvertError } from '../../src/errors.js';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers.js';

class FakeTunnels implements Runtime {
  readonly name = 'fake';
  connected: DynamicItem[] = [];
  running = new Set<string>();
  views: ConfigView[] = [];
  changes: string[][] = [];
  removed: string[] = [];
  configChanged(view: ConfigView, menus: ReadonlySet<string>): void {
    this.views.push(view);
    this.changes.push([...menus]);
  }
  dynamicItems(menu: string) {
    if (menu === '/interface pptp-server') return this.connected;
    if (menu === '/ppp active') return this.connected.map((c) => ({ key: c.key, values: { name: c.values.user, service: 'pptp', 'caller-id': '198.18.9.9', address: c.values['client-address'], uptime: c.values.uptime, encoding: c.values.encoding } }));
    return undefined;
  }
  status(menu: string, item: { values: Readonly<Record<string, string>> }) {
    if (menu.endsWith('-client') && this.running.has(item.values.name)) return { running: true, values: { mtu: '1400' } };
    return undefined;
  }
  monitor(menu: string, item: { values: Readonly<Record<string, string>> }) {
    if (!this.running.has(item.values.name)) return undefined;
    return { status: 'connected', uptime: '7h24m18s', 'idle-time': '6h21m4s', encoding: 'MPPE128 stateless', mtu: '1460', mru: '1460' };
  }
  removeDynamic(menu: string, key: string): boolean {
    this.removed.push(`${menu} ${key}`);
    this.connected = this.connected.filter((c) => c.key !== key);
    return true;
  }
}

let engine: Engine;
let rt: FakeTunnels;
let s: Session;
let saved: ConfigData[];
let host: NullHost;

async function ok(cmd: string): Promise<string> {
  const r = await engine.run(cmd, s);
  return r.output;
}

async function fails(cmd: string, re: RegExp): Promise<void> {
  await assert.rejects(engine.run(cmd, s), (e: Error & { code?: string }) => re.test(e.message) && typeof e.code === 'string', cmd);
}

beforeEach(() => {
  rt = new FakeTunnels();
  const runtimes = new RuntimeRegistry();
  runtimes.register(rt);
  saved = [];
  host = new NullHost();
  host.ethernet = [{ name: 'ether1', mtu: 1500, mac: '00:30:4F:0B:7B:C1', up: true, running: true, arp: 'enabled' }];
  engine = new Engine(emptyConfig(), {
    host,
    runtimes,
    persist: (c) => saved.push(structuredClone(c)),
    readFile: () => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); },
    writeFile: () => undefined,
    log: () => undefined,
  });
  s = newSession();
});

describe('console engine', () => {
  it('shows a connected user as a dynamic server interface exactly like seed 001 line 174', async () => {
    await ok('/interface pptp-server add user=ex1');
    rt.connected = [{ key: 'pptp-ex#1', values: { name: 'pptp-ex', user: 'ex', mtu: '1460', 'client-address': '10.0.0.202', uptime: '6m32s', encoding: 'none' }, running: true }];
    assert.equal(
      await ok('/interface pptp-server print'),
      'Flags: X - disabled, D - dynamic, R - running\n' +
        '  #     NAME                 USER         MTU   CLIENT-ADDRESS  UPTIME   ENCODING\n' +
        '  0  DR <pptp-ex>            ex           1460  10.0.0.202      6m32s    none\n' +
        '  1     pptp-in1             ex1\n',
    );
    assert.match(await ok('/ppp active print'), /0\s+ex\s+pptp\s+198\.18\.9\.9\s+10\.0\.0\.202\s+6m32s\s+none/);
    assert.match(await ok('/interface print'), /<pptp-ex>\s+pptp-in/);
    // a dynamic entry cannot be edited, but /ppp active remove disconnects it
    await fails('/interface pptp-server set 0 user=x', /cannot change dynamic entry pptp-ex/);
    await ok('/ppp active print');
    await ok('/ppp active remove 0');
    assert.deepEqual(rt.removed, ['/ppp active pptp-ex#1']);
    assert.doesNotMatch(await ok('/interface pptp-server print'), /pptp-ex/);
  });

  it('running flag and monitor come from the runtime', async () => {
    await ok('/interface pptp-client add name=test2 connect-to=10.1.1.12 user=john add-default-route=yes password=john');
    assert.match(await ok('/interface pptp-client print'), /^ {2}0 X  name="test2"/m);
    assert.equal(await ok('/interface pptp-client monitor 0'), '  status: "terminated"\n');
    await ok('/interface pptp-client enable 0');
    rt.running.add('test2');
    assert.match(await ok('/interface pptp-client print'), /^ {2}0  R name="test2"/m);
    assert.equal(
      await ok('/interface pptp-client monitor test2'),
      '     status: "connected"\n     uptime: 7h24m18s\n  idle-time: 6h21m4s\n   encoding: "MPPE128 stateless"\n        mtu: 1460\n        mru: 1460\n',
    );
  });

  it('runtimes are told of every committed change, with the menus that changed', async () => {
    await ok('/ppp secret add name=a password=secret1');
    assert.deepEqual(rt.changes.at(-1), ['/ppp secret']);
    const v = rt.views.at(-1)!;
    assert.equal(v.list('/ppp secret')[0].values.password, 'secret1');
    assert.equal(v.single('/interface pptp-server server')['max-mtu'], '1460');
    const n = rt.changes.length;
    await fails('/ppp secret add name=a', /already exists/);
    assert.equal(rt.changes.length, n, 'not told of a failed command');
  });

  it('numbers refer to the last print of this session, items also by name and *id', async () => {
    await ok('/ip pool add name=a ranges=198.18.1.1-198.18.1.9');
    await ok('/ip pool add name=b ranges=198.18.2.1-198.18.2.9');
    await ok('/ip pool print');
    await ok('/ip pool remove a');
    // number 1 still means "b" as printed, until the next print
    await ok('/ip pool set 1 comment=second');
    assert.match(await ok('/ip pool print'), /;;; second\n\s+0\s+b/);
    await ok('/ip pool set *2 ranges=198.18.3.1-198.18.3.2');
    assert.match(await ok('/ip pool print'), /198\.18\.3\.1-198\.18\.3\.2/);
    await ok('/ip pool set [ find name=b ] ranges=198.18.4.1');
    assert.match(await ok('/ip pool print'), /b\s+198\.18\.4\.1\n/);
    assert.equal(await ok('/ip pool print count-only'), '1\n');
  });

  it('accepts unambiguous abbreviations and the old "key value" form, refuses ambiguous ones', async () => {
    await ok('/ip pool add name=p range=198.18.1.1-198.18.1.9');
    await ok('ip route add dst-address 198.18.2.0/24 gateway 198.18.1.1');
    assert.match(await ok('/ip route print'), /198\.18\.2\.0\/24\s+198\.18\.1\.1/);
    await fails('/interface pptp-client add max=1400 user=a connect-to=198.18.1.1', /ambiguous argument max: could be max-mtu, max-mru/);
  });

  it('navigates menus with paths and .., keeping the cwd per session', async () => {
    await ok('/interface pptp-client');
    assert.equal(s.cwd, '/interface pptp-client');
    await ok('..');
    assert.equal(s.cwd, '/interface');
    await ok('pptp-server server');
    assert.equal(s.cwd, '/interface pptp-server server');
    assert.match(await ok('print'), /enabled: no/);
    await ok('/');
    assert.equal(s.cwd, '/');
  });

  it('a command line fails as a whole: nothing of it is applied or persisted', async () => {
    const n = saved.length;
    await fails('/ppp secret add name=x; /ppp secret add name=y service=bogus', /service/);
    assert.equal(saved.length, n);
    assert.doesNotMatch(await ok('/ppp secret print detail'), /name="x"/);
  });

  it('comments, unset, enable/disable and the profile default flag', async () => {
    await ok('/ppp secret add name=a password=1 local-address=198.18.0.1');
    await ok('/ppp secret comment a comment="road warrior"');
    await ok('/ppp secret disable a');
    await ok('/ppp secret unset a value-name=local-address');
    assert.equal(await ok('/ppp secret print detail'), 'Flags: X - disabled\n      ;;; road warrior\n  0 X name="a" service=any caller-id="" password="1" profile=default routes=""\n');
    assert.match(await ok('/ppp profile print'), /^ {2}0 \* name="default"/m);
    assert.equal(
      await ok('/ppp secret print'),
      'Flags: X - disabled\n  #   NAME         SERVICE CALLER-ID       PASSWORD     PROFILE            REMOTE-ADDRESS\n      ;;; road warrior\n  0 X a            any                     1            default\n',
    );
  });

  it('ethernet arp goes to the host and shows in print', async () => {
    await ok('/interface ethernet set ether1 arp=proxy-arp');
    assert.deepEqual(host.arpCalls, [['ether1', 'proxy-arp']]);
    assert.match(await ok('/interface ethernet print'), /0 {2}R ether1 +1500 +00:30:4F:0B:7B:C1 proxy-arp/);
  });

  it('completes menus, commands, properties and values', () => {
    // readline replaces the last word with a candidate
    assert.deepEqual(engine.complete('/interface pptp-c', '/'), ['pptp-client']);
    assert.deepEqual(engine.complete('/inter', '/'), ['/interface']);
    assert.deepEqual(engine.complete('/interface pptp-', '/').filter((x) => x.includes('server')), ['pptp-server']);
    assert.ok(engine.complete('', '/interface pptp-client').includes('add'));
    assert.deepEqual(engine.complete('add max-m', '/interface pptp-client'), ['max-mru=', 'max-mtu=']);
    assert.deepEqual(engine.complete('set 0 add-default-route=y', '/interface pptp-client'), ['add-default-route=yes']);
    assert.deepEqual(engine.complete('set profile=default-', '/interface l2tp-client'), ['profile=default-encryption']);
  });

  it('metrics registry renders runtime samples in Prometheus text', () => {
    const m = new MetricsRegistry();
    m.addCollector((sink) => {
      sink.add('culvert_tunnel_rx_bytes_total', { interface: 'pptp-out1', service: 'pptp', role: 'client' }, 1234);
      sink.add('culvert_drops_total', { interface: 'pptp-out1', reason: 'bad "seq"\n' }, 2);
      sink.add('not_declared', {}, 1);
    });
    m.addCollector(() => { throw new Error('broken collector'); });
    const t = m.render();
    assert.match(t, /^# TYPE culvert_tunnel_rx_bytes_total counter$/m);
    assert.match(t, /^culvert_tunnel_rx_bytes_total\{interface="pptp-out1",role="client",service="pptp"\} 1234$/m);
    assert.match(t, /^culvert_drops_total\{interface="pptp-out1",reason="bad \\"seq\\"\\n"\} 2$/m);
    assert.doesNotMatch(t, /not_declared/);
  });

  it('fuzz: any sequence of console words either works or fails with a CulvertError, and export stays importable', async () => {
    const words = [
      ...new Set([
        ...MENUS.flatMap((m) => [m.path, ...m.path.slice(1).split(' ')]),
        ...MENUS.flatMap((m) => m.commands),
        'print', 'detail', '..', '/', '0', '1', '*1', '[ find ]', '[ find name=x ]', 'once', 'where', '/export', '/system reset-configuration',
        ...MENUS.flatMap((m) => m.props.map((p) => `${p.name}=`)),
      ]),
    ];
    const values = ['', 'yes', 'no', '1460', '10', 'disabled', '198.18.0.1', '198.18.0.0/24', 'x', '"a b"', 'default', 'vpn', '1h', 'mschap2', '198.18.1.1-198.18.1.9'];
    const line = fc.array(fc.tuple(fc.constantFrom(...words), fc.constantFrom(...values)).map(([w, v]) => (w.endsWith('=') ? w + v : w)), { minLength: 1, maxLength: 7 }).map((a) => a.join(' '));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 6 }), async (lines) => {
        for (const l of lines) {
          try {
            await engine.run(l, s);
          } catch (e) {
            if (!(e instanceof CulvertError)) throw e;
          }
        }
        // Whatever was accepted exports to text that imports on an empty configuration.
        const text = engine.exportText(engine.data);
        const fresh = new Engine(emptyConfig(), { ...engine.opts, readFile: () => text, persist: () => undefined });
        await fresh.run('/import file=x', newSession());
        assert.equal(fresh.exportText(fresh.data), text);
      }),
      { numRuns: 300 },
    );
  });

  it('runs seed transcripts pasted verbatim, prompts and continuation prompts included', async () => {
    const seed = (f: string) => fs.readFileSync(path.join(ROOT, '..', 'shared', 'seeds', f), 'utf8').split('\n');
    const s1 = seed('001_84b7ff4f7476a19b.txt');
    const s0 = seed('000_ba78da9da2f509e7.txt');
    const s3 = seed('003_b3204ef9b0e7884d.txt');
    // 001 lines 86-87: "[admin@MikroTik] interface pptp-client> add name=test2 ... \" + "\... user=john ..."
    await ok(s1.slice(85, 87).join('\n'));
    assert.equal(s.cwd, '/interface pptp-client');
    assert.match(await ok(s1[87]), /0 X {2}name="test2" .*\n.*user="john" password="john"/);
    await ok(s1[92]); // "[admin@MikroTik] interface pptp-client> enable 0"
    assert.match(await ok('print'), /^ {2}0 {4}name="test2"/m);
    // 003 line 32, flattened: "[admin@dzeltenais_burkaans] /interface l2tp-client>add ... \ \... connect-to=... disabled=no [admin@..."
    const l32 = s3[31];
    await ok(l32.slice(0, l32.indexOf('[admin@', 1)));
    assert.equal(s.cwd, '/interface l2tp-client');
    assert.match(await ok('print detail'), /name="l2tp-hm" .*connect-to=10\.1\.101\.100/s);
    // 001 line 255: "[admin@HomeOffice] > ip route add dst-address 10.150.1.0/24 gateway 10.0.103.2"
    await ok(s1[254]);
    assert.equal(s.cwd, '/');
    assert.match(await ok('/ip route print'), /10\.150\.1\.0\/24\s+10\.0\.103\.2/);
    // 000 line 205: "/interface pptp-server server> print" (a prompt character typed along)
    assert.match(await ok(s0[204]), /enabled: no/);
    // 001 line 276: "[admin@RemoteOffice]> /ping 10.0.103.1" (NullHost answers)
    assert.equal(await ok(s1[275]), '10.0.103.1 timeout\n');
    await fails('[admin@X] /no such> print', /no such menu/);
  });
});
