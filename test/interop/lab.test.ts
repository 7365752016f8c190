/**
 * Smoke test of the interop lab helper: setup.sh, one pptpd guest, a TCP connect
 * to 198.18.0.10:1723 from a Node process inside netns ia-lab (where our programs
 * under test will run), and a complete teardown. Needs root; fails if the lab
 * cannot start (never skips).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { withLab, LAB_SERVER_IP, LAB_HOST_IP, LAB_NETNS } from './lab.js';

/** A one-shot TCP connect from inside the netns; prints "connected <local addr>" or the error code. */
const probe = (port: number) =>
  `const s=require('node:net').connect(${port},'${LAB_SERVER_IP}');` +
  `s.setTimeout(5000,()=>{console.log('timeout');process.exit(2)});` +
  `s.on('connect',()=>{console.log('connected '+s.localAddress);s.destroy();process.exit(0)});` +
  `s.on('error',e=>{console.log('error '+e.code);process.exit(1)})`;

test('interop lab: pptpd guest accepts TCP 1723 from netns ia-lab, and everything is torn down', { timeout: 20 * 60_000 }, async (t) => {
  const t0 = performance.now();
  const timings: Record<string, number> = await withLab(
    async (lab) => {
      const g = await lab.start(['pptpd']);
      assert.equal(g.name, 'srv');
      assert.match(g.output, /srv ready: ip=198\.18\.0\.10 roles=pptpd/);
      assert.deepEqual(await lab.running(), ['srv']);

      const ok = await lab.nsExec([process.execPath, '-e', probe(1723)]);
      assert.equal(ok.stdout.trim(), `connected ${LAB_HOST_IP}`);

      // The probe really distinguishes: nothing listens on 1724 in the guest.
      const refused = await lab.nsExec([process.execPath, '-e', probe(1724)]).then(
        (r) => r.stdout,
        (e: { stdout: string }) => e.stdout,
      );
      assert.equal(refused.trim(), 'error ECONNREFUSED');
      return { ...lab.timings, bootInGuest: g.bootSeconds ?? NaN };
    },
    { log: (l) => t.diagnostic(l) },
  );
  const total = (performance.now() - t0) / 1000;
  assert.equal(existsSync(`/run/netns/${LAB_NETNS}`), false, 'netns ia-lab deleted');
  t.diagnostic(
    `timing: setup ${timings.setup}s, start pptpd guest ${timings['start:srv']}s (guest boot ${timings.bootInGuest}s), total with teardown ${total.toFixed(1)}s`,
  );
});
