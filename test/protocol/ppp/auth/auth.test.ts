import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { inspect } from 'node:util';
import { decodeChap, decodePap } from '../../../../src/protocol/ppp/auth/packet.js';
import { createAuthClient, createAuthServer, REASON_FAILED, REASON_SERVER_MISMATCH, REASON_TIMEOUT } from '../../../../src/protocol/ppp/auth/index.js';
import type { AuthMethod, AuthResult } from '../../../../src/protocol/ppp/auth/types.js';
import { FakeClock } from '../../../../src/protocol/clock.js';
import { makePair, run, verifier, type Pair } from './harness.js';

const METHODS: AuthMethod[] = ['pap', 'chap', 'mschap1', 'mschap2'];
const PROTO: Record<AuthMethod, number> = { pap: 0xc023, chap: 0xc223, mschap1: 0xc223, mschap2: 0xc223 };
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** The code of a frame the server sent (PAP or CHAP). */
const codeOf = (m: AuthMethod, payload: Uint8Array) => (m === 'pap' ? decodePap(payload).code : decodeChap(payload).code);

function assertOk(r: AuthResult | undefined, method: AuthMethod, user: string): asserts r is AuthResult & { ok: true } {
  assert.ok(r, 'done called');
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.method, method);
  assert.equal(r.user, user);
}

for (const method of METHODS) {
  test(`${method}: right password authenticates both ends, done exactly once, timers cleaned up`, () => {
    const p = run(makePair(method));
    assert.equal(p.clientDone.length, 1);
    assert.equal(p.serverDone.length, 1);
    assertOk(p.clientDone[0], method, 'alice');
    assertOk(p.serverDone[0], method, 'alice');
    const mppeExpected = method === 'mschap1' || method === 'mschap2';
    assert.equal(!!p.clientDone[0].mppe, mppeExpected);
    assert.equal(!!p.serverDone[0].mppe, mppeExpected);
    if (mppeExpected) {
      for (const bits of [40, 56, 128] as const) {
        const c: { send: Uint8Array; recv: Uint8Array } = p.clientDone[0].mppe!.startKeys(bits, 'client');
        const s: { send: Uint8Array; recv: Uint8Array } = (p.serverDone[0] as AuthResult & { ok: true }).mppe!.startKeys(bits, 'server');
        assert.deepEqual(c.send, s.recv);
        assert.deepEqual(c.recv, s.send);
      }
    }
    assert.equal(p.clock.timerCount, 0);
    p.client.stop();
    p.server.stop();
    // Never a password in any log line, nor in how the machines print.
    assert.ok(!p.logs.some((l) => l.includes('wonderland')), p.logs.join('\n'));
    for (const m of [p.client, p.server]) {
      const shown = [inspect(m, { showHidden: true, depth: 10 }), String(m), JSON.stringify(m)].join(' ');
      assert.ok(!shown.includes('wonderland') && !shown.includes('119, 111, 110'), shown);
      assert.match(String(m), /succeeded/);
    }
  });

  test(`${method}: wrong password fails both ends with "authentication failed"`, () => {
    const p = run(makePair(method, { password: 'rabbit-hole' }));
    assert.equal(p.serverDone.length, 1);
    assert.deepEqual(p.serverDone[0], { ok: false, method, user: 'alice', reason: REASON_FAILED });
    assert.equal(p.clientDone.length, 1);
    assert.equal(p.clientDone[0].ok, false);
    assert.equal((p.clientDone[0] as { reason: string }).reason, REASON_FAILED);
    const last = p.log.filter((w) => w.from === 'server').at(-1)!;
    assert.equal(codeOf(method, last.payload), method === 'pap' ? 3 : 4);
    if (method === 'mschap1' || method === 'mschap2') {
      const msg = text((decodeChap(last.payload) as { message: Uint8Array }).message);
      assert.match(msg, new RegExp(`^E=691 R=0 C=[0-9A-F]{${method === 'mschap2' ? 32 : 16}} V=3 M=Authentication failure$`));
    }
    assert.ok(!p.logs.some((l) => l.includes('rabbit-hole') || l.includes('wonderland')));
  });

  test(`${method}: unknown user fails exactly like a wrong password (same frames)`, () => {
    const fixed = (n: number) => new Uint8Array(n).fill(0x42);
    const wrong = run(makePair(method, { password: 'nope', serverRandom: fixed, clientRandom: fixed }));
    const unknown = run(makePair(method, { user: 'mallory', password: 'nope', serverRandom: fixed, clientRandom: fixed }));
    const serverFrames = (p: Pair) => p.log.filter((w) => w.from === 'server').map((w) => Buffer.from(w.payload).toString('hex'));
    assert.deepEqual(serverFrames(unknown), serverFrames(wrong));
    assert.equal((unknown.serverDone[0] as { reason: string }).reason, REASON_FAILED);
    assert.equal((unknown.clientDone[0] as { reason: string }).reason, REASON_FAILED);
  });

  test(`${method}: a lost first ${method === 'pap' ? 'request' : 'challenge'} and a lost response are recovered by the restart timer`, () => {
    const p = makePair(method);
    let drops = 0;
    p.filter = (w) => {
      // Drop the first frame each side sends.
      const firstOfSide = p.log.filter((x) => x.from === w.from)[0] === w;
      if (firstOfSide) drops++;
      return !firstOfSide;
    };
    run(p);
    assert.equal(p.clientDone.length + p.serverDone.length, 0);
    for (let i = 0; i < 4 && (p.serverDone.length === 0 || p.clientDone.length === 0); i++) {
      p.clock.advance(3000);
      p.flush();
    }
    assert.ok(drops >= 1);
    assertOk(p.serverDone[0], method, 'alice');
    assertOk(p.clientDone[0], method, 'alice');
  });

  test(`${method}: a repeated request/response after success gets the same answer again; done stays single`, () => {
    const p = run(makePair(method));
    const clientFrames = p.log.filter((w) => w.from === 'client');
    const lastReq = clientFrames.at(-1)!;
    const answer = p.log.filter((w) => w.from === 'server').at(-1)!;
    const before = p.log.length;
    p.server.receive(lastReq.protocol, lastReq.payload);
    p.flush();
    const again = p.log.slice(before).filter((w) => w.from === 'server');
    assert.equal(again.length, 1);
    assert.deepEqual(again[0].payload, answer.payload);
    assert.equal(p.serverDone.length, 1);
    assert.equal(p.clientDone.length, 1);
  });

  test(`${method}: the server gives up after 10 unanswered transmissions: "authentication timed out"`, () => {
    const p = makePair(method);
    p.filter = () => false; // the peer hears nothing / says nothing
    run(p);
    p.clock.advance(60_000);
    assert.deepEqual(p.serverDone, [{ ok: false, method, reason: REASON_TIMEOUT }]);
    assert.equal(p.clientDone.length, 1);
    assert.equal((p.clientDone[0] as { reason: string }).reason, REASON_TIMEOUT);
    const sent = p.log.filter((w) => w.from === (method === 'pap' ? 'client' : 'server')).length;
    assert.equal(sent, 10, 'ten transmissions, 3 s apart');
    assert.equal(p.clock.timerCount, 0);
  });

  test(`${method}: stop() cancels timers and no done() follows`, () => {
    const p = makePair(method);
    p.filter = () => false;
    run(p);
    p.client.stop();
    p.server.stop();
    assert.equal(p.clock.timerCount, 0);
    p.clock.advance(60_000);
    assert.equal(p.clientDone.length + p.serverDone.length, 0);
  });

  test(`${method}: an asynchronous verifier (RADIUS-like) works`, async () => {
    const v = verifier();
    const p = makePair(method, { verifier: { verify: async (r) => { await new Promise((res) => setImmediate(res)); return v.verify(r); } } });
    run(p);
    await new Promise((res) => setImmediate(res));
    await new Promise((res) => setImmediate(res));
    p.flush();
    assertOk(p.serverDone[0], method, 'alice');
    assertOk(p.clientDone[0], method, 'alice');
  });

  test(`${method}: a verifier that never answers times the server out instead of hanging`, () => {
    const p = run(makePair(method, { verifier: { verify: () => new Promise(() => {}) } }));
    assert.equal(p.serverDone.length, 0);
    p.clock.advance(30_000);
    assert.equal(p.serverDone.length, 1);
    assert.equal((p.serverDone[0] as { reason: string }).reason, REASON_TIMEOUT);
    assert.equal(p.clock.timerCount, 0);
  });

  test(`${method}: a verifier that throws fails the peer cleanly`, () => {
    const p = run(makePair(method, { verifier: { verify: () => { throw new Error('backend down'); } } }));
    assert.equal((p.serverDone[0] as { reason: string }).reason, REASON_FAILED);
    assert.equal((p.clientDone[0] as { reason: string }).reason, REASON_FAILED);
  });

  test(`${method}: fuzz receive() with random bytes and mutated frames never throws and counts drops`, () => {
    const good = run(makePair(method)).log.map((w) => w.payload);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 70 }),
          fc.tuple(fc.constantFrom(...good), fc.nat(80), fc.nat(255)).map(([g, i, b]) => {
            const m = Uint8Array.from(g);
            if (m.length) m[i % m.length] = b;
            return m;
          }),
        ),
        fc.boolean(),
        (data, toServer) => {
          const p = makePair(method);
          p.server.start();
          p.client.start();
          const target = toServer ? p.server : p.client;
          target.receive(PROTO[method], data);
          target.receive(0xc021, data);
          p.flush();
          assert.ok(target.stats.received >= 2);
          assert.ok(target.stats.dropped >= 1);
          assert.ok(p.clientDone.length <= 1 && p.serverDone.length <= 1);
        },
      ),
      { numRuns: 1500 },
    );
  });
}

test('mschap2: a tampered authenticator response fails the client with a clear reason', () => {
  for (const tamper of [
    (s: string) => s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11),
    (s: string) => 'S=' + '0'.repeat(40) + s.slice(42),
    (s: string) => s.replace(/^S=[0-9A-F]{40}/, 'S=XYZ'),
    (s: string) => s.slice(42),
  ]) {
    const p = makePair('mschap2');
    p.filter = (w) => {
      if (w.from !== 'server') return true;
      const c = decodeChap(w.payload);
      if (c.code !== 3) return true;
      const msg = tamper(text(c.message));
      const out = new Uint8Array(4 + Buffer.byteLength(msg));
      out.set(w.payload.subarray(0, 2));
      out[2] = out.length >> 8;
      out[3] = out.length & 0xff;
      out.set(Buffer.from(msg), 4);
      return out;
    };
    run(p);
    assert.equal(p.serverDone[0].ok, true, 'the server thinks it is fine');
    assert.deepEqual(p.clientDone, [{ ok: false, method: 'mschap2', user: 'alice', reason: REASON_SERVER_MISMATCH }]);
    assert.match(REASON_SERVER_MISMATCH, /server authenticator response mismatch/);
  }
});

test('mschap2: a server that does not know the password cannot fake Success (verifier without S=)', () => {
  const p = run(makePair('mschap2', { verifier: { verify: () => ({ ok: true }) } }));
  assert.equal((p.serverDone[0] as { reason: string }).reason, REASON_FAILED);
  assert.equal(p.clientDone[0].ok, false);
});

test('mschap2: "DOMAIN\\user" authenticates against the secret of "user"', () => {
  const p = run(makePair('mschap2', { user: 'CORP\\alice' }));
  assertOk(p.serverDone[0], 'mschap2', 'CORP\\alice');
  assertOk(p.clientDone[0], 'mschap2', 'CORP\\alice');
});

test('chap: a re-challenge after success (RFC 1994 periodic re-authentication) is answered', () => {
  const p = run(makePair('chap'));
  const clock = new FakeClock();
  const frames: Uint8Array[] = [];
  const server2 = createAuthServer('chap', { name: 'x', verifier: verifier(), clock, send: (_p, b) => frames.push(b), done: () => {}, random: (n) => new Uint8Array(n).fill(9) });
  server2.start();
  const before = p.log.length;
  p.client.receive(0xc223, frames[0]);
  const resp = p.log.slice(before);
  assert.equal(resp.length, 1);
  assert.equal(decodeChap(resp[0].payload).code, 2);
  assert.equal(p.clientDone.length, 1);
});

test('chap client: retransmitted Challenge gets the identical Response; wrong-id Success is ignored', () => {
  const p = makePair('mschap2');
  p.filter = (w) => w.from === 'server' || p.log.filter((x) => x.from === 'client').length > 1;
  run(p);
  const firstResp = p.log.find((w) => w.from === 'client')!;
  p.clock.advance(3000);
  p.flush();
  const resps = p.log.filter((w) => w.from === 'client');
  assert.equal(resps.length, 2);
  assert.deepEqual(resps[1].payload, firstResp.payload);
  assertOk(p.clientDone[0], 'mschap2', 'alice');
});

test('pap client: Ack for an id we never sent is dropped', () => {
  const clock = new FakeClock();
  const done: AuthResult[] = [];
  const c = createAuthClient('pap', { user: 'u', password: 'p', clock, send: () => {}, done: (r) => done.push(r) });
  c.start();
  c.receive(0xc023, Uint8Array.from([2, 77, 0, 5, 0]));
  assert.equal(done.length, 0);
  assert.equal(c.stats.dropped, 1);
  c.receive(0xc023, Uint8Array.from([2, 1, 0, 5, 0]));
  assert.equal(done.length, 1);
  assert.equal(done[0].ok, true);
  c.stop();
});

test('chap client: no Challenge at all times out', () => {
  const clock = new FakeClock();
  const done: AuthResult[] = [];
  const c = createAuthClient('mschap2', { user: 'u', password: 'p', clock, send: () => {}, done: (r) => done.push(r) });
  c.start();
  clock.advance(29_999);
  assert.equal(done.length, 0);
  clock.advance(1);
  assert.deepEqual(done, [{ ok: false, method: 'mschap2', user: 'u', reason: REASON_TIMEOUT }]);
});
