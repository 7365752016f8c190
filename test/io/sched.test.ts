/**
 * The data plane's scheduling policy (src/io/native.ts dataPlaneScheduling): a thread
 * that opens a channel runs under SCHED_BATCH unless CULVERT_SCHED=normal, other threads
 * keep theirs, and a bad value is refused with the accepted ones named. Each case runs in
 * its own worker thread (own module instance, own thread, own environment).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const NATIVE = new URL('../../src/io/native.js', import.meta.url).href;
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

/** Field 41 of /proc/<tid>/stat (proc(5)): the thread's scheduling policy. */
function policyOf(statPath: string): number {
  const s = readFileSync(statPath, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[41 - 3]);
}

/** Opens a loopback UDP channel in a fresh worker with `env`; returns the worker thread's policy or the error. */
function inWorker(env: Record<string, string>): Promise<{ before?: number; policy?: number; code?: string; message?: string }> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { readFileSync } = require('node:fs');
    const policy = () => { const s = readFileSync('/proc/thread-self/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[38]); };
    import(${JSON.stringify(NATIVE)}).then((n) => {
      try {
        const before = policy();
        const u = n.UdpSocket.open(0, { address: '127.0.0.1' });
        const after = policy();
        u.close();
        parentPort.postMessage({ before, policy: after });
      } catch (e) {
        parentPort.postMessage({ code: e.code, message: e.message });
      }
    });`;
  return new Promise((res, rej) => {
    const w = new Worker(code, { eval: true, env });
    w.once('message', (m) => { void w.terminate(); res(m as { before?: number; policy?: number }); });
    w.once('error', rej);
  });
}

test('a thread that opens a channel runs under SCHED_BATCH by default; the other threads keep their policy', async () => {
  const mainBefore = policyOf('/proc/thread-self/stat');
  const r = await inWorker({});
  assert.equal(r.before, SCHED_OTHER, JSON.stringify(r));
  assert.equal(r.policy, SCHED_BATCH, JSON.stringify(r));
  assert.equal(policyOf('/proc/thread-self/stat'), mainBefore, 'the main thread is untouched');
});

test('CULVERT_SCHED=normal leaves the data-plane thread as it was (SCHED_OTHER here)', async () => {
  const r = await inWorker({ CULVERT_SCHED: 'normal' });
  assert.equal(r.before, SCHED_OTHER, JSON.stringify(r));
  assert.equal(r.policy, SCHED_OTHER, JSON.stringify(r));
});

test('a bad CULVERT_SCHED is refused, naming the variable and the accepted values; no channel opens', async () => {
  const r = await inWorker({ CULVERT_SCHED: 'fast' });
  assert.equal(r.code, 'IO_ERR_BAD_CONFIG');
  assert.match(r.message ?? '', /CULVERT_SCHED=fast: accepted values are batch, normal/);
});
