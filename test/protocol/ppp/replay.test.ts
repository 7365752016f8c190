/**
 * Real pppd sessions (test/fixtures/ppp, captured in the interop lab) replayed against
 * our PPP Link: as server we get the pppd client's frames, as client the pppd server's.
 * Every real frame must get the answer pppd gave (see test/interop/ppp-replay.ts for the
 * rules); the link must come up with pppd's addresses and encryption, deliver the peer's
 * data (MPPE-decrypted where negotiated) and go down on the hang-up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listPppFixtures, loadPppFixture } from '../../interop/ppp-fixture.js';
import { replay, formatReport } from '../../interop/ppp-replay.js';

for (const name of listPppFixtures()) {
  const fx = loadPppFixture(name);
  const mppe = /MPPE 128-bit stateless/.test(fx.negotiated.client.compression ?? '');
  for (const role of ['server', 'client'] as const) {
    test(`replay ${name}: our ${role} answers every real pppd ${role === 'server' ? 'client' : 'server'} frame`, (t) => {
      const r = replay(fx, role);
      for (const line of formatReport(r).split('\n')) t.diagnostic(line);
      if (r.failures.length) for (const line of r.log) t.diagnostic(`link: ${line}`);
      assert.deepEqual(
        r.failures.map((s) => `#${s.frame?.i} ${s.frame?.what}: ${s.note}`),
        [],
        'every real frame got a correct answer',
      );
      assert.ok(r.up, 'the link came up');
      const side = fx.negotiated[role];
      assert.equal(r.up.localAddress, side.localIp);
      assert.equal(r.up.remoteAddress, side.remoteIp);
      assert.equal(r.up.encoding, mppe ? 'MPPE128 stateless' : 'none');
      assert.equal(r.delivered.length, r.peerDataFrames, 'every data frame from the peer was delivered');
      assert.ok(r.peerDataFrames > 0);
      assert.ok(r.down, 'the link went down on the hang-up');
    });
  }
}

// The same real frames when our side holds a different password: the server must answer
// the real Response / Authenticate-Request with Failure / Nak and never bring the link up;
// an MS-CHAPv2 client must refuse the real Success (its authenticator response proves the
// server knows a password that is not ours).
for (const name of listPppFixtures()) {
  const fx = loadPppFixture(name);
  const method = fx.auth.method;
  const cases: ('server' | 'client')[] = method === 'mschapv2' ? ['server', 'client'] : ['server'];
  for (const role of cases) {
    test(`replay ${name} with a wrong password on our ${role}: authentication fails, the link never comes up`, (t) => {
      const r = replay(fx, role, { password: 'not-the-lab-password' });
      for (const line of formatReport(r).split('\n')) t.diagnostic(line);
      assert.deepEqual(
        r.failures.map((s) => `#${s.frame?.i} ${s.frame?.what}: ${s.note}`),
        [],
        'every real frame got a correct answer',
      );
      const authStep = r.steps.find(
        (s) => s.frame && (s.frame.what.startsWith(role === 'server' ? 'CHAP Response' : 'CHAP Success') || s.frame.what.startsWith('PAP Authenticate-Request')),
      );
      assert.ok(authStep, 'the authentication frame was fed');
      if (role === 'server') assert.match(authStep.answers.join(' '), /CHAP Failure|PAP Authenticate-Nak/);
      assert.equal(r.up, undefined, 'the link never came up');
      assert.equal(r.delivered.length, 0, 'no data was delivered');
      assert.equal(r.down, 'authentication failed');
    });
  }
}
