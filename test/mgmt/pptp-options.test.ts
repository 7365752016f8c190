/**
 * The pptp(8) options of /interface pptp-client and /interface pptp-server server (culvert
 * extensions, issue #5) through the console engine: accepted spellings and their canonical
 * form, clear errors for bad values (naming the field and what it accepts, changing
 * nothing), print/export only when not default, and what the runtime reads from them.
 */
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine, newSession, type Session } from '../../src/mgmt/engine.js';
import { NullHost } from '../../src/mgmt/host.js';
import { emptyConfig } from '../../src/mgmt/model.js';
import { RuntimeRegistry, type ConfigView, type Runtime } from '../../src/mgmt/runtime.js';
import { menuByPath, prop, PPTP_GRE_MONITOR } from '../../src/mgmt/schema.js';
import { ConfigError } from '../../src/errors.js';
import { greMonitor, msOf, pptpTuning, reorderTest } from '../../src/io/runtime/pptp.js';

const CLIENT = '/interface pptp-client';
const SERVER = '/interface pptp-server server';

class Recorder implements Runtime {
  readonly name = 'recorder';
  view: ConfigView | undefined;
  configChanged(view: ConfigView): void { this.view = view; }
}

let engine: Engine;
let s: Session;
let rec: Recorder;

async function ok(cmd: string): Promise<string> {
  return (await engine.run(cmd, s)).output;
}

async function fails(cmd: string, re: RegExp): Promise<void> {
  await assert.rejects(engine.run(cmd, s), (e: Error & { code?: string }) => e.code === 'CONFIG_ERR_INVALID_VALUE' && re.test(e.message), cmd);
}

beforeEach(async () => {
  rec = new Recorder();
  const runtimes = new RuntimeRegistry();
  runtimes.register(rec);
  engine = new Engine(emptyConfig(), {
    host: new NullHost(),
    runtimes,
    persist: () => undefined,
    readFile: () => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); },
    writeFile: () => undefined,
    log: () => undefined,
  });
  s = newSession();
  await ok(`${CLIENT} add connect-to=198.18.1.1 user=u1 password=pw`);
});

describe('pptp(8) options in the console', () => {
  it('are hidden while default: print detail and export of a plain entry are unchanged', async () => {
    const detail = await ok(`${CLIENT} print detail`);
    for (const p of ['reorder-timeout', 'reorder-buffer', 'echo-idle-wait', 'echo-max-wait', 'add-host-route', 'routing-mark', 'src-address', 'phone-number', 'reorder-test-type', 'reorder-test-rate']) {
      assert.doesNotMatch(detail, new RegExp(p), `${p} hidden`);
    }
    assert.doesNotMatch(await ok(`${SERVER} print`), /reorder|echo-/);
    assert.doesNotMatch(await ok(`${CLIENT} export`), /reorder|echo-|host-route|routing-mark|src-address|phone/);
  });

  it('accept pptp(8) spellings, print them the RouterOS way, and export only what differs from the default', async () => {
    await ok(`${CLIENT} set 0 reorder-timeout=0.5 reorder-buffer=no echo-idle-wait=90 echo-max-wait=1m30s add-host-route=no routing-mark=42 src-address=198.18.2.2 phone-number="555 0123"`);
    // print detail wraps lines: compare with the whitespace folded.
    const detail = (await ok(`${CLIENT} print detail`)).replace(/\s+/g, ' ');
    assert.match(detail, /reorder-timeout=500ms reorder-buffer=no echo-idle-wait=1m30s echo-max-wait=1m30s add-host-route=no routing-mark=42 src-address=198\.18\.2\.2 phone-number="555 0123"/);
    const exp = await ok(`${CLIENT} export`);
    assert.match(exp, /reorder-timeout=500ms/);
    assert.match(exp, /phone-number="555 0123"/);

    // Setting a value back to its default removes it from export again.
    await ok(`${CLIENT} set 0 reorder-timeout=300ms reorder-buffer=yes echo-idle-wait=60s echo-max-wait=1m add-host-route=yes`);
    const exp2 = await ok(`${CLIENT} export`);
    assert.doesNotMatch(exp2, /reorder|echo-|add-host-route/);
    assert.match(exp2, /routing-mark=42/);
    await ok(`${CLIENT} unset 0 routing-mark`);
    assert.doesNotMatch(await ok(`${CLIENT} export`), /routing-mark/);

    for (const [input, shown] of [['0.01', '10ms'], ['10', '10s'], ['1s500ms', '1s500ms'], ['250ms', '250ms'], ['2.5s', '2s500ms']]) {
      await ok(`${CLIENT} set 0 reorder-timeout=${input}`);
      assert.match(await ok(`${CLIENT} print detail`), new RegExp(`reorder-timeout=${shown}\\b`), input);
    }
  });

  it('reject bad values with the field and what it accepts, and change nothing', async () => {
    const before = await ok('/export');
    const bad: [string, RegExp][] = [
      ['reorder-timeout=5ms', /invalid value for argument reorder-timeout: must be a time 10ms\.\.10s like 300ms, 0\.3s or 2s \(got "5ms"\)/],
      ['reorder-timeout=11', /reorder-timeout: must be a time 10ms\.\.10s/],
      ['reorder-timeout=0.0001', /reorder-timeout: must be a time/],
      ['reorder-timeout=soon', /reorder-timeout: must be a time/],
      ['reorder-buffer=maybe', /reorder-buffer: must be yes \| no/],
      ['echo-idle-wait=0', /echo-idle-wait: must be a time 1s\.\.1d/],
      ['echo-idle-wait=500ms', /echo-idle-wait: must be a time 1s\.\.1d/],
      ['echo-max-wait=2d', /echo-max-wait: must be a time 1s\.\.1d/],
      ['add-host-route=sometimes', /add-host-route: must be yes \| no/],
      ['routing-mark=0', /routing-mark: must be 1\.\.4294967295/],
      ['routing-mark=4294967296', /routing-mark: must be 1\.\.4294967295/],
      ['routing-mark=main', /routing-mark: must be 1\.\.4294967295/],
      ['src-address=198.18.2.256', /src-address: must be an IPv4 address/],
      [`phone-number=${'9'.repeat(65)}`, /phone-number: must be text of at most 64 octets/],
      [`phone-number="${'é'.repeat(33)}"`, /phone-number: must be text of at most 64 octets/],
    ];
    for (const [arg, re] of bad) await fails(`${CLIENT} set 0 ${arg}`, re);
    await fails(`${SERVER} set reorder-timeout=20s`, /reorder-timeout: must be a time 10ms\.\.10s/);
    await fails(`${SERVER} set echo-max-wait=never`, /echo-max-wait: must be a time 1s\.\.1d/);
    await assert.rejects(engine.run('/interface l2tp-client add connect-to=198.18.1.1 user=u reorder-timeout=1s', s), /unknown argument reorder-timeout/);
    assert.equal(await ok('/export'), before);
  });

  it('the server settings take the reorder and echo options', async () => {
    await ok(`${SERVER} set enabled=yes reorder-timeout=1s reorder-buffer=no echo-idle-wait=10s echo-max-wait=5s`);
    assert.match(await ok(`${SERVER} print`), /reorder-timeout: 1s\n\s+reorder-buffer: no\n\s+echo-idle-wait: 10s\n\s+echo-max-wait: 5s/);
    assert.match(await ok(`${SERVER} export`), /set enabled=yes reorder-timeout=1s reorder-buffer=no echo-idle-wait=10s echo-max-wait=5s/);
    assert.deepEqual(pptpTuning(rec.view!.single(SERVER)), { gre: { reorderTimeoutMs: 1000, nobuffer: true }, echo: { idleWaitMs: 10_000, maxEchoWaitMs: 5000 } });
  });

  it('the runtime reads the pptp(8) values, defaults included, in milliseconds', async () => {
    const dflt = pptpTuning(rec.view!.list(CLIENT)[0].values);
    assert.deepEqual(dflt, { gre: { reorderTimeoutMs: 300, nobuffer: false }, echo: { idleWaitMs: 60_000, maxEchoWaitMs: 60_000 } });
    await ok(`${CLIENT} set 0 reorder-timeout=0.05 reorder-buffer=no echo-idle-wait=2s echo-max-wait=1h`);
    assert.deepEqual(pptpTuning(rec.view!.list(CLIENT)[0].values), { gre: { reorderTimeoutMs: 50, nobuffer: true }, echo: { idleWaitMs: 2000, maxEchoWaitMs: 3_600_000 } });
    assert.equal(msOf('1s500ms', 0), 1500);
    assert.equal(msOf('2', 0), 2000);
    assert.equal(msOf(undefined, 7), 7);
  });

  it('reorder-test-type / reorder-test-rate (pptp(8) --test-type / --test-rate): client only, shown while not default, read by the runtime', async () => {
    assert.deepEqual(reorderTest(rec.view!.list(CLIENT)[0].values), { reorderTestType: 0, reorderTestRate: 100 });
    await ok(`${CLIENT} set 0 reorder-test-type=3 reorder-test-rate=20`);
    assert.match((await ok(`${CLIENT} print detail`)).replace(/\s+/g, ' '), /reorder-test-type=3 reorder-test-rate=20/);
    assert.match(await ok(`${CLIENT} export`), /reorder-test-type=3 reorder-test-rate=20/);
    assert.deepEqual(reorderTest(rec.view!.list(CLIENT)[0].values), { reorderTestType: 3, reorderTestRate: 20 });
    await ok(`${CLIENT} set 0 reorder-test-type=0 reorder-test-rate=100`);
    assert.doesNotMatch(await ok(`${CLIENT} export`), /reorder-test/);
    const before = await ok('/export');
    await fails(`${CLIENT} set 0 reorder-test-type=4`, /reorder-test-type: must be 0\.\.3/);
    await fails(`${CLIENT} set 0 reorder-test-type=swap`, /reorder-test-type: must be 0\.\.3/);
    await fails(`${CLIENT} set 0 reorder-test-rate=0`, /reorder-test-rate: must be 1\.\.1000000/);
    await fails(`${CLIENT} set 0 reorder-test-rate=1000001`, /reorder-test-rate: must be 1\.\.1000000/);
    assert.equal(await ok('/export'), before);
    await assert.rejects(engine.run(`${SERVER} set reorder-test-type=1`, s), /unknown argument reorder-test-type/);
  });

  it('monitor lists the pptp(8) STATISTICS on the PPTP menus only', () => {
    const g = greMonitor({
      rx: { accepted: 1, lost: 2, underWin: 3, overWin: 4, buffered: 5, errors: 6, truncated: 7, invalid: 8, acks: 9 },
      tx: { sent: 10, failed: 11, short: 12, acks: 13, oversize: 14, windowFull: 15, timeouts: 16 },
      rttMs: 17.4,
    });
    assert.deepEqual(Object.keys(g), [...PPTP_GRE_MONITOR]);
    assert.deepEqual(Object.values(g), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '17ms']);
    for (const m of [CLIENT, '/interface pptp-server']) for (const k of PPTP_GRE_MONITOR) assert.ok(menuByPath(m)!.monitor!.includes(k), `${m} ${k}`);
    for (const m of ['/interface l2tp-client', '/interface l2tp-server']) assert.ok(!menuByPath(m)!.monitor!.some((k) => k.startsWith('gre-')), m);
  });

  it('fuzz: the new value types throw nothing but ConfigError, and their output parses to itself', () => {
    const client = menuByPath(CLIENT)!;
    const names = ['reorder-timeout', 'reorder-buffer', 'echo-idle-wait', 'echo-max-wait', 'add-host-route', 'routing-mark', 'src-address', 'phone-number', 'reorder-test-type', 'reorder-test-rate'];
    const types = names.map((n) => prop(client, n)!);
    const input = fc.oneof(
      fc.string(),
      fc.fullUnicodeString({ maxLength: 80 }),
      fc.stringMatching(/^[0-9]{0,8}(\.[0-9]{0,4})?(ms|s|m|h|d|w)?([0-9]{0,3}(ms|s))?$/),
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: types.length - 1 }), input, (i, v) => {
      const p = types[i];
      let out: string;
      try {
        out = p.type.parse(v, p.name);
      } catch (e) {
        assert.ok(e instanceof ConfigError && e.code === 'CONFIG_ERR_INVALID_VALUE', String(e));
        assert.ok(e.message.includes(p.name));
        return;
      }
      assert.equal(p.type.parse(out, p.name), out);
    }), { numRuns: 3000 });
    // Every default is already canonical (so `set x=<default>` drops it from export).
    for (const p of types) if (p.default !== undefined) assert.equal(p.type.parse(p.default, p.name), p.default, p.name);
  });
});
