/**
 * netdev without `ip`: MTU, txqueuelen, up/down and addresses over rtnetlink (the addon's
 * nlLink/nlAddr), as the daemon uses them in its own namespace. Each case runs a small
 * node script inside a namespace the test made (`ip netns exec`), so the host's devices
 * are never touched; what is asserted is what `ip link show` / `ip addr show` print.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NetnsPair, ip } from './helpers/netns.js';
import { addAddress, setMtu, setUp } from '../../src/io/netdev.js';
import { changeAddress, setLink } from '../../src/io/native.js';
import { ConfigError, IoError } from '../../src/errors.js';

const NETDEV = fileURLToPath(new URL('../../src/io/netdev.js', import.meta.url));
const NATIVE = fileURLToPath(new URL('../../src/io/native.js', import.meta.url));
const FAST_CHECK = import.meta.resolve('fast-check');
/** `ip` by absolute path: the children run with a PATH where no `ip` can be found. */
const IP = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim() || '/sbin/ip';

/**
 * Runs `body` (an async function body; `nd` = netdev.js, `nat` = native.js, `sh(args)` = ip
 * output, `err(fn)` = the error a call throws as {cls, code, message}) in namespace `ns`,
 * optionally without CAP_NET_ADMIN; returns what the body returns (JSON). The child's PATH
 * holds no `ip`, so a netdev call that still spawned it would fail.
 */
function inNs(ns: string, body: string, opts: { noNetAdmin?: boolean } = {}): Record<string, any> {
  const script = `
    const nd = await import(${JSON.stringify(NETDEV)});
    const nat = await import(${JSON.stringify(NATIVE)});
    const { execFileSync } = await import('node:child_process');
    const sh = (a) => execFileSync(${JSON.stringify(IP)}, a, { encoding: 'utf8' });
    const err = async (f) => { try { await f(); return null; } catch (e) { return { cls: e.constructor.name, code: e.code, message: e.message }; } };
    const out = await (async () => { ${body} })();
    console.log(JSON.stringify(out));`;
  const node = ['env', 'PATH=/nonexistent', process.execPath, '--input-type=module', '-e', script];
  const argv = ['netns', 'exec', ns, ...(opts.noNetAdmin ? ['setpriv', '--bounding-set', '-net_admin', ...node] : node)];
  const r = spawnSync('ip', argv, { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(r.status, 0, `child in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

/** The IPv4 addresses of a device as `ip -j addr show` reports them (what matters of each). */
function inet(json: string): { local: string; address?: string; prefixlen: number; scope: string }[] {
  const [dev] = JSON.parse(json) as { addr_info: Record<string, any>[] }[];
  return dev.addr_info.filter((a) => a.family === 'inet')
    .map((a) => ({ local: a.local, address: a.address, prefixlen: a.prefixlen, scope: a.scope }));
}

test('a TUN is configured as the daemon does it, without ip: txqueuelen, MTU, point-to-point address, up; then down and removed', () => {
  const net = NetnsPair.create('ndn');
  try {
    const r = inNs(net.a, `
      const t = nat.TunDevice.open('<l2tp-s0001>');
      await nd.setTxQueueLen(t.name, 1000);
      await nd.setMtu(t.name, 1400);
      await nd.addAddress(t.name, '198.19.0.1', { peer: '198.19.0.2' });
      await nd.addAddress(t.name, '198.19.1.1', { prefix: 24 });
      await nd.setUp(t.name, true);
      const up = { link: sh(['link', 'show', 'dev', t.name]), addr: sh(['addr', 'show', 'dev', t.name]), json: sh(['-j', 'addr', 'show', 'dev', t.name]) };
      await nd.setUp(t.name, false);
      const down = sh(['link', 'show', 'dev', t.name]);
      await nd.setUp(t.name, true);
      const upAgain = sh(['link', 'show', 'dev', t.name]);
      await nd.delAddress(t.name, '198.19.0.1', { peer: '198.19.0.2' });
      const afterDelPeer = sh(['addr', 'show', 'dev', t.name]);
      await nd.delAddress(t.name, '198.19.1.1', { prefix: 24 });
      const afterDelAll = sh(['addr', 'show', 'dev', t.name]);
      t.close();
      return { name: t.name, up, down, upAgain, afterDelPeer, afterDelAll };`);
    assert.equal(r.name, '<l2tp-s0001>');
    assert.match(r.up.link, /mtu 1400 /);
    assert.match(r.up.link, /qlen 1000/);
    assert.match(r.up.link, /<[A-Z_,]*\bUP\b/);
    assert.match(r.up.addr, /inet 198\.19\.0\.1 peer 198\.19\.0\.2\/32 scope global <l2tp-s0001>/);
    assert.match(r.up.addr, /inet 198\.19\.1\.1\/24 scope global <l2tp-s0001>/);
    assert.doesNotMatch(r.down, /<[A-Z_,]*\bUP\b/, 'down clears IFF_UP');
    assert.match(r.upAgain, /<[A-Z_,]*\bUP\b/);
    assert.doesNotMatch(r.afterDelPeer, /198\.19\.0\.1/);
    assert.match(r.afterDelPeer, /198\.19\.1\.1\/24/, 'only the named address goes');
    assert.doesNotMatch(r.afterDelAll, /inet /);

    // The same two addresses made by `ip` itself in the other namespace: identical records.
    ip(['addr', 'add', '198.19.0.1/32', 'peer', '198.19.0.2/32', 'dev', 'veth0'], net.b);
    ip(['addr', 'add', '198.19.1.1/24', 'dev', 'veth0'], net.b);
    const byIp = inet(ip(['-j', 'addr', 'show', 'dev', 'veth0'], net.b)).filter((a) => a.local.startsWith('198.19.'));
    assert.deepEqual(inet(r.up.json), byIp);
  } finally {
    net.destroy();
  }
});

test('by ifindex, several link changes in one request; the errors name the device and the errno text', () => {
  const net = NetnsPair.create('ndn');
  try {
    const r = inNs(net.a, `
      const idx = JSON.parse(sh(['-j', 'link', 'show', 'dev', 'veth0']))[0].ifindex;
      nat.setLink(idx, { mtu: 1300, txQueueLen: 777, up: false });
      const after = sh(['link', 'show', 'dev', 'veth0']);
      nat.changeAddress('add', idx, '198.19.2.1', { prefix: 30 });
      return {
        after, addr: sh(['addr', 'show', 'dev', 'veth0']),
        missingMtu: await err(() => nd.setMtu('nosuchdev0', 1400)),
        missingUp: await err(() => nd.setUp('nosuchdev0', true)),
        missingAddr: await err(() => nd.addAddress('nosuchdev0', '198.19.0.1', { peer: '198.19.0.2' })),
        missingIndex: await err(() => nat.setLink(999999, { up: true })),
        twice: await err(() => nat.changeAddress('add', 'veth0', '198.19.2.1', { prefix: 30 })),
        notThere: await err(() => nd.delAddress('veth0', '198.19.9.9', { peer: '198.19.9.10' })),
      };`);
    assert.match(r.after, /mtu 1300 /);
    assert.match(r.after, /qlen 777/);
    assert.doesNotMatch(r.after, /<[A-Z_,]*\bUP\b/);
    assert.match(r.addr, /inet 198\.19\.2\.1\/30 /);
    for (const k of ['missingMtu', 'missingUp', 'missingAddr']) {
      assert.equal(r[k]?.cls, 'IoError', k);
      assert.equal(r[k].code, 'IO_ERR_LINK', k);
      assert.match(r[k].message, /^interface nosuchdev0: .*No such device \(ENODEV\)/, k);
    }
    assert.match(r.missingMtu.message, /set mtu 1400/);
    assert.match(r.missingIndex.message, /^interface ifindex 999999: set up: No such device/);
    assert.equal(r.twice.code, 'IO_ERR_LINK');
    assert.match(r.twice.message, /^interface veth0: add address 198\.19\.2\.1\/30: File exists \(EEXIST\)/);
    assert.equal(r.notThere.code, 'IO_ERR_LINK');
    assert.match(r.notThere.message, /^interface veth0: del address 198\.19\.9\.9 peer 198\.19\.9\.10: .*\(EADDRNOTAVAIL\)/);
  } finally {
    net.destroy();
  }
});

test('without CAP_NET_ADMIN: IO_ERR_NO_CAPABILITY naming CAP_NET_ADMIN, and nothing changes', () => {
  const net = NetnsPair.create('ndn');
  try {
    const r = inNs(net.a, `
      return {
        caps: nat.capabilities(),
        mtu: await err(() => nd.setMtu('veth0', 1280)),
        addr: await err(() => nd.addAddress('veth0', '198.19.5.1', { peer: '198.19.5.2' })),
      };`, { noNetAdmin: true });
    assert.equal(r.caps.netAdmin, false);
    for (const k of ['mtu', 'addr']) {
      assert.equal(r[k]?.code, 'IO_ERR_NO_CAPABILITY', k);
      assert.match(r[k].message, /^interface veth0: .*Operation not permitted \(EPERM\).*CAP_NET_ADMIN/, k);
    }
    const show = ip(['addr', 'show', 'dev', 'veth0'], net.a);
    assert.doesNotMatch(show, /mtu 1280/);
    assert.doesNotMatch(show, /198\.19\.5\.1/);
  } finally {
    net.destroy();
  }
});

// Validation happens before anything reaches the kernel; these run in the test's own
// namespace on purpose, and every value here is refused, so no device is touched.
test('bad names and values are refused before the kernel sees them: ConfigError from netdev, IoError IO_ERR_BAD_ARG from native', async () => {
  await assert.rejects(setMtu('veth0; reboot', 1400), ConfigError);
  await assert.rejects(setMtu('x', 67), ConfigError);
  await assert.rejects(setMtu('x', 1400.5), ConfigError);
  await assert.rejects(setUp('a-name-longer-than-15', true), ConfigError);
  await assert.rejects(addAddress('x', '198.19.0.999'), ConfigError);
  await assert.rejects(addAddress('x', '198.19.0.1', { prefix: 33 }), ConfigError);
  await assert.rejects(addAddress('x', '198.19.0.1', { peer: 'peer' }), ConfigError);
  const badArg = (e: unknown): boolean => e instanceof IoError && e.code === 'IO_ERR_BAD_ARG';
  assert.throws(() => setLink('eth0:1', { mtu: 1400 }), badArg, 'an alias label is not a device');
  assert.throws(() => setLink('..', { up: true }), badArg);
  assert.throws(() => setLink(0, { up: true }), badArg);
  assert.throws(() => setLink(1.5, { up: true }), badArg);
  assert.throws(() => setLink('x', { mtu: 65536 }), badArg);
  assert.throws(() => setLink('x', { txQueueLen: -1 }), badArg);
  assert.throws(() => setLink('x', { up: 'yes' as unknown as boolean }), badArg);
  assert.throws(() => changeAddress('add', 'x', '198.19.0.1', { peer: '198.19.0.2', prefix: 24 }), badArg);
  assert.throws(() => changeAddress('add', 'x', '1.2.3'), badArg);
  assert.throws(() => changeAddress('flush' as 'add', 'x', '198.19.0.1'), badArg);
});

test('any arguments: only IoError or ConfigError, never a crash (fuzz, inside a namespace)', () => {
  const net = NetnsPair.create('ndn');
  try {
    const r = inNs(net.a, `
      const fc = (await import(${JSON.stringify(FAST_CHECK)})).default;
      const name = fc.oneof(fc.constantFrom('veth0', 'lo', 'nosuch0', '<x>', 'eth0:1', ''), fc.string({ maxLength: 20 }), fc.integer({ min: -5, max: 1e10 }));
      const num = fc.oneof(fc.integer({ min: -10, max: 2e6 }), fc.double(), fc.constant(undefined));
      const addr = fc.oneof(fc.ipV4(), fc.string({ maxLength: 16 }), fc.constant(undefined));
      const bad = [];
      const ok = (e) => e && (e.constructor.name === 'IoError' || e.constructor.name === 'ConfigError');
      await fc.assert(fc.asyncProperty(name, num, num, fc.oneof(fc.boolean(), fc.constant(undefined)), addr, addr, fc.boolean(), async (n, a, b, up, l, p, add) => {
        const calls = [
          () => nat.setLink(n, { mtu: a, txQueueLen: b, up }),
          () => nat.changeAddress(add ? 'add' : 'del', n, l, { peer: p, prefix: a }),
          () => nd.setMtu(n, a), () => nd.setTxQueueLen(n, b), () => nd.setUp(n, !!up),
          () => nd.addAddress(n, l, { peer: p, prefix: b }), () => nd.delAddress(n, l, { prefix: a }),
        ];
        for (const c of calls) {
          try { await c(); } catch (e) { if (!ok(e)) { bad.push(String(e && e.stack || e)); return false; } }
        }
        return true;
      }), { numRuns: 300 }).catch((e) => { if (bad.length === 0) bad.push(String(e)); });
      return { bad, alive: sh(['link', 'show', 'dev', 'veth0']).length > 0 };`);
    assert.deepEqual(r.bad, []);
    assert.equal(r.alive, true);
  } finally {
    net.destroy();
  }
});
