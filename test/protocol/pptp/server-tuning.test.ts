/**
 * PptpServer.setTuning: new pptp(8) settings (echo waits, reorder time-out, nobuffer) reach
 * the connections and calls that start afterwards; calls already up keep theirs. This is
 * what `/interface pptp-server server set echo-idle-wait=... reorder-buffer=...` does to a
 * running server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipPacket, world, type ClientEnd, type World } from './harness.js';

function connected(w: World, ...ends: ClientEnd[]): void {
  const ok = w.net.runUntil(() => ends.every((e) => e.call.status === 'connected') && w.server.calls.every((c) => c.status === 'connected'), 30_000);
  assert.ok(ok, 'calls up');
}

/** Echo-Requests the server sent to `name` so far. */
function echoes(w: World, name: string): number {
  return w.net.log.filter((x) => x.from === 'server' && x.to === name && x.what === 'Echo-Request').length;
}

test('setTuning: a connection accepted afterwards uses the new echo waits and nobuffer, an earlier one keeps the defaults', () => {
  const w = world();
  const a = w.addClient('a', 0xc6120014);
  a.call.start();
  connected(w, a);
  w.server.setTuning({ idleWaitMs: 2000, maxEchoWaitMs: 1000, nobuffer: true, reorderTimeoutMs: 50 });
  const b = w.addClient('b', 0xc6120015);
  b.call.start();
  connected(w, a, b);

  // Idle control connections: b is probed every ~2 s, a not before the RFC's 60 s.
  w.net.run(7000);
  assert.ok(echoes(w, 'b') >= 2, `echoes to b: ${echoes(w, 'b')}`);
  assert.equal(echoes(w, 'a'), 0);
  assert.equal(b.call.status, 'connected', 'b answers its echoes');

  // One client->server data packet lost in the network, two behind it: without a reorder
  // buffer (b) the gap is given up at once; with it (a) the packets wait for the gap.
  const dropNext = new Set(['a', 'b']);
  w.greFilter = (from, buf, o, l) => {
    if (dropNext.has(from) && l > 16) { dropNext.delete(from); return true; }
    return false;
  };
  for (const c of [a, b]) for (let i = 0; i < 3; i++) assert.ok(c.call.sendIpCopy(ipPacket(100, i)));
  w.net.pump();
  const sa = w.server.calls.find((c) => c.peerCallId === a.call.callId)!.session.gre.stats;
  const sb = w.server.calls.find((c) => c.peerCallId === b.call.callId)!.session.gre.stats;
  assert.equal(sb.rx.lost, 1, 'nobuffer: the gap is lost at once');
  assert.equal(sa.rx.lost, 0, 'buffering: still waiting for the gap');
  assert.ok(sa.rx.buffered >= 2);
  w.net.run(400); // a's 300 ms reorder time-out
  assert.equal(sa.rx.lost, 1);
});
