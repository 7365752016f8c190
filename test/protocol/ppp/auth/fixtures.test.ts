/**
 * Replays of real pppd authentication exchanges (test/fixtures/ppp): our client must send
 * pppd's exact Response to pppd's Challenge and accept pppd's Success; our server, given
 * the same random challenge, must send pppd's exact Challenge and Success.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../../src/protocol/clock.js';
import { createAuthClient, createAuthServer, LocalVerifier } from '../../../../src/protocol/ppp/auth/index.js';
import type { AuthMethod, AuthResult } from '../../../../src/protocol/ppp/auth/types.js';
import { framePayload, loadPppFixture, type PppFixture } from '../../../interop/ppp-fixture.js';
import { hex, toHex } from '../../../crypto/vectors.js';

const METHOD: Record<string, AuthMethod> = { mschapv2: 'mschap2', mschapv1: 'mschap1', chap: 'chap', pap: 'pap' };
const frame = (fx: PppFixture, i: string | number) => framePayload(fx.frames.find((f) => f.i === Number(i))!);

for (const name of ['pptp-mschapv2-mppe128', 'l2tp-mschapv2-mppe128', 'pptp-mschapv1-mppe128', 'pptp-chap']) {
  test(`${name}: our client answers pppd's Challenge byte for byte and accepts its Success`, () => {
    const fx = loadPppFixture(name);
    const a = fx.auth;
    const sent: Uint8Array[] = [];
    const done: AuthResult[] = [];
    const c = createAuthClient(METHOD[a.method], {
      user: fx.credentials.user,
      password: fx.credentials.password,
      clock: new FakeClock(),
      send: (_p, b) => sent.push(b),
      done: (r) => done.push(r),
      random: () => hex(a.peerChallenge ?? ''),
    });
    c.start();
    c.receive(0xc223, frame(fx, a.challengeFrame));
    assert.equal(sent.length, 1);
    assert.equal(toHex(sent[0]), toHex(frame(fx, a.responseFrame)));
    c.receive(0xc223, frame(fx, a.resultFrame));
    assert.equal(done.length, 1);
    assert.equal(done[0].ok, true, JSON.stringify(done[0]));
    assert.equal(!!(done[0] as { mppe?: unknown }).mppe, a.method !== 'chap');
    c.stop();
  });

  test(`${name}: our server sends pppd's Challenge and Success for pppd's Response`, () => {
    const fx = loadPppFixture(name);
    const a = fx.auth;
    const sent: Uint8Array[] = [];
    const done: AuthResult[] = [];
    const ch = hex(a.challenge);
    const s = createAuthServer(METHOD[a.method], {
      name: fx.credentials.serverName,
      verifier: new LocalVerifier((u) => (u === fx.credentials.user ? { password: fx.credentials.password } : undefined)),
      clock: new FakeClock(),
      send: (_p, b) => sent.push(b),
      done: (r) => done.push(r),
      random: (n) => (n === 1 ? Uint8Array.of(Number(a.chapId)) : ch),
      chapChallengeLength: ch.length,
    });
    s.start();
    assert.equal(toHex(sent[0]), toHex(frame(fx, a.challengeFrame)));
    s.receive(0xc223, frame(fx, a.responseFrame));
    assert.equal(toHex(sent[1]), toHex(frame(fx, a.resultFrame)));
    assert.equal(done[0].ok, true);
    assert.equal((done[0] as { user: string }).user, fx.credentials.user);
    s.stop();
  });
}

test('pptp-pap: our client sends pppd\'s Authenticate-Request; our server answers with pppd\'s Ack', () => {
  const fx = loadPppFixture('pptp-pap');
  const req = frame(fx, fx.auth.papFrame);
  const ack = framePayload(fx.frames.find((f) => f.proto === 0xc023 && f.dir === 's2c')!);
  const sent: Uint8Array[] = [];
  const done: AuthResult[] = [];
  const c = createAuthClient('pap', { user: fx.credentials.user, password: fx.credentials.password, clock: new FakeClock(), send: (_p, b) => sent.push(b), done: (r) => done.push(r) });
  c.start();
  assert.equal(toHex(sent[0]), toHex(req));
  c.receive(0xc023, ack);
  assert.equal(done[0].ok, true);
  c.stop();
  const s = createAuthServer('pap', {
    name: 'pptpd',
    verifier: new LocalVerifier((u) => (u === fx.credentials.user ? { password: fx.credentials.password } : undefined)),
    clock: new FakeClock(),
    send: (_p, b) => sent.push(b),
    done: (r) => done.push(r),
  });
  s.start();
  s.receive(0xc023, req);
  assert.equal(toHex(sent[1]), toHex(ack));
  assert.equal(done[1].ok, true);
  s.stop();
});
