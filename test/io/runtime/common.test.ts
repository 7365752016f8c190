import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authList, Backoff, intOrUndefined, placeholderFor, profileUseEncryption, seconds, yes } from '../../../src/io/runtime/common.js';

test('Backoff: redial after 1, 2, 4 ... seconds, capped at 60, back to 1 after a connection came up', () => {
  const b = new Backoff();
  const seq = Array.from({ length: 9 }, () => b.take());
  assert.deepEqual(seq, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  b.reset();
  assert.equal(b.take(), 1000);
});

test('RouterOS values: yes/no, numbers or disabled, seconds in any form, auth lists', () => {
  assert.equal(yes('yes'), true);
  assert.equal(yes('no'), false);
  assert.equal(intOrUndefined('1460'), 1460);
  assert.equal(intOrUndefined('disabled'), undefined);
  assert.equal(seconds('60', 1), 60);
  assert.equal(seconds('1m30s', 1), 90);
  assert.equal(seconds(undefined, 30), 30);
  assert.deepEqual(authList('mschap2,pap', []), ['mschap2', 'pap']);
  assert.deepEqual(authList(undefined, ['chap']), ['chap']);
});

test('profileUseEncryption: a profile value, else what the built-in default profile says', () => {
  const profiles = [
    { id: '*0', values: { name: 'default', 'use-encryption': 'no' } },
    { id: '*1', values: { name: 'default-encryption', 'use-encryption': 'yes' } },
    { id: '*2', values: { name: 'strict', 'use-encryption': 'required' } },
    { id: '*3', values: { name: 'inherit', 'use-encryption': 'default' } },
  ];
  assert.equal(profileUseEncryption(profiles, 'default-encryption'), 'yes');
  assert.equal(profileUseEncryption(profiles, 'strict'), 'required');
  assert.equal(profileUseEncryption(profiles, 'inherit'), 'no');
  assert.equal(profileUseEncryption([], 'default-encryption'), 'yes');
});

test('placeholderFor: dial-on-demand placeholders are pairs in 10.112.112.0/24 (seed 000), distinct per client (PPTP and L2TP alike)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const p = placeholderFor(i % 2); // two runtimes numbering their clients from 0 each
    assert.match(p.local, /^10\.112\.112\.\d+$/);
    assert.match(p.peer, /^10\.112\.112\.\d+$/);
    assert.ok(!seen.has(p.local) && !seen.has(p.peer));
    seen.add(p.local);
    seen.add(p.peer);
    assert.ok(Number(p.peer.split('.')[3]) <= 254);
  }
});
