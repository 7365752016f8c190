/**
 * Deleting TUN devices without stalling the event loop: TunDevice.close() hands the fd to
 * a worker thread (the kernel sleeps ~20 ms per deleted device), whenClosed() says when
 * the device is gone, and the same name can be opened again at once (a user who hangs up
 * and dials straight back gets the same <l2tp-USER>). Runs inside a namespace the test
 * made, in a child node process, asserting what `ip link show` lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NetnsPair, ip } from './helpers/netns.js';

const NATIVE = fileURLToPath(new URL('../../src/io/native.js', import.meta.url));
const NETDEV = fileURLToPath(new URL('../../src/io/netdev.js', import.meta.url));

function inNs(ns: string, body: string): Record<string, any> {
  const script = `
    const nat = await import(${JSON.stringify(NATIVE)});
    const nd = await import(${JSON.stringify(NETDEV)});
    const { execFileSync } = await import('node:child_process');
    const links = () => execFileSync('ip', ['-o', 'link', 'show', 'type', 'tun'], { encoding: 'utf8' });
    const out = await (async () => { ${body} })();
    console.log(JSON.stringify(out));`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  assert.equal(r.status, 0, `child in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

test('close() deletes the TUN (whenClosed resolves once it is gone); 40 at once all go', () => {
  const net = NetnsPair.create('tcl');
  try {
    const r = inNs(net.a, `
      const one = nat.TunDevice.open('<l2tp-u1>');
      await nd.addAddress(one.name, '198.19.0.1', { peer: '198.19.0.2' });
      await nd.setUp(one.name, true);
      const before = links();
      one.close();
      one.close(); // twice is fine
      await one.whenClosed();
      const after = links();
      const many = Array.from({ length: 40 }, (_, i) => nat.TunDevice.open('cvtc' + i));
      const listed = links().split('\\n').filter((l) => / cvtc\\d+:/.test(l)).length;
      for (const t of many) t.close();
      await Promise.all(many.map((t) => t.whenClosed()));
      return { before, after, listed, left: links() };`);
    assert.match(r.before, /<l2tp-u1>/);
    assert.doesNotMatch(r.after, /<l2tp-u1>/);
    assert.equal(r.listed, 40);
    assert.doesNotMatch(r.left, /cvtc\d+/);
  } finally {
    net.destroy();
  }
});

test('the same name opens again straight after close(): a new, working device', () => {
  const net = NetnsPair.create('tcl');
  try {
    const r = inNs(net.a, `
      const names = [];
      for (let round = 0; round < 5; round++) {
        const t = nat.TunDevice.open('<l2tp-again>');
        names.push(t.name);
        await nd.setMtu(t.name, 1400 - round);
        await nd.addAddress(t.name, '198.19.0.1', { peer: '198.19.0.2' });
        await nd.setUp(t.name, true);
        t.close(); // not awaited: the next open must not see EBUSY
      }
      // Many closes queued, then the name of the last-closed one again.
      const many = Array.from({ length: 20 }, (_, i) => nat.TunDevice.open('cvtq' + i));
      for (const t of many) t.close();
      const again = nat.TunDevice.open('cvtq19');
      await nd.setUp(again.name, true);
      const show = links();
      again.close();
      await again.whenClosed();
      await Promise.all(many.map((t) => t.whenClosed()));
      return { names, show, left: links() };`);
    assert.deepEqual(r.names, Array(5).fill('<l2tp-again>'));
    assert.match(r.show, /cvtq19: <[A-Z_,]*\bUP\b/);
    assert.doesNotMatch(r.left, /cvtq|l2tp-again/);
  } finally {
    net.destroy();
  }
});

test('a process that exits right after close() leaves no device behind', () => {
  const net = NetnsPair.create('tcl');
  try {
    inNs(net.a, `
      const ts = Array.from({ length: 10 }, (_, i) => nat.TunDevice.open('cvtx' + i));
      for (const t of ts) t.close();
      return {};`);
    assert.doesNotMatch(ip(['-o', 'link', 'show'], net.a), /cvtx/);
  } finally {
    net.destroy();
  }
});
