import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { quote, splitCommands, tokenize, MAX_LINE } from '../../src/mgmt/parser.js';

const simple = (line: string) => tokenize(line).map((t) => (t.key !== undefined ? `${t.key}=${t.value}` : t.bracket ? `[${t.value}]` : t.value));

describe('console tokenizer', () => {
  it('splits words, key=value and quoted values as RouterOS does', () => {
    assert.deepEqual(simple('/interface pptp-client add name=pptp-hm user=pptp-hm password=123'), ['/interface', 'pptp-client', 'add', 'name=pptp-hm', 'user=pptp-hm', 'password=123']);
    assert.deepEqual(simple('set 0 routes="10.150.1.0/24 10.0.103.2 1"'), ['set', '0', 'routes=10.150.1.0/24 10.0.103.2 1']);
    assert.deepEqual(simple('add comment=""'), ['add', 'comment=']);
    assert.deepEqual(simple('set [ find name="a b" ] disabled=no'), ['set', '[find name="a b"]', 'disabled=no']);
    assert.deepEqual(simple('ip route add dst-address 10.150.1.0/24 gateway 10.0.103.2'), ['ip', 'route', 'add', 'dst-address', '10.150.1.0/24', 'gateway', '10.0.103.2']);
  });

  it('joins backslash-newline continuations (the seeds\' "\\ \\..." lines)', () => {
    assert.deepEqual(simple('add name=user password=passwd \\\nlocal-address=10.0.0.1'), ['add', 'name=user', 'password=passwd', 'local-address=10.0.0.1']);
  });

  it('decodes escapes in quoted strings', () => {
    const t = tokenize('add password="a\\"b\\\\c\\$d\\_e\\41"');
    assert.equal(t[1].value, 'a"b\\c$d eA');
    assert.equal(t[1].quoted, true);
  });

  it('splits commands at ; outside quotes and brackets', () => {
    assert.deepEqual(splitCommands('/ppp secret add name=a; /ppp secret add name="x;y"; set [ find ; ]'), ['/ppp secret add name=a', ' /ppp secret add name="x;y"', ' set [ find ; ]']);
  });

  it('gives a typed error with a column for broken input', () => {
    for (const bad of ['add name="abc', 'add name=[x', 'add ]', 'add =x', 'add name="a"b', 'add name="\\q"', 'set [ find']) {
      assert.throws(() => tokenize(bad), (e: unknown) => e instanceof ConfigError && /^CONSOLE_ERR_/.test(e.code) && /column \d+/.test(e.message), bad);
    }
  });

  it('rejects oversized lines with a typed error', () => {
    assert.throws(() => tokenize('a'.repeat(MAX_LINE + 1)), (e: unknown) => e instanceof ConfigError && e.code === 'CONSOLE_ERR_TOO_LONG');
  });

  it('quote() output tokenizes back to the same value (round trip)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (v) => {
        const t = tokenize(`set x=${quote(v)}`);
        assert.equal(t.length, 2);
        assert.equal(t[1].value, v);
        const f = tokenize(`set x=${quote(v, true)}`);
        assert.equal(f[1].value, v);
      }),
      { numRuns: 2000 },
    );
  });

  it('every prefix split of a valid line tokenizes or fails only with ConfigError', () => {
    const line = '/ppp secret add name="Home" routes="10.1.202.0/24 172.16.1.2 1" [ find name=x ] \\\nservice=l2tp';
    for (let i = 0; i <= line.length; i++) {
      for (const part of [line.slice(0, i), line.slice(i)]) {
        try {
          tokenize(part);
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
        }
      }
    }
  });

  it('fuzz: never throws anything but ConfigError', () => {
    const alphabet = fc.constantFrom(...'ab=" \\[];/\n\t$?_0x41.-'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(alphabet, { maxLength: 80 }).map((a) => a.join(''))), (s) => {
        try {
          tokenize(s);
          splitCommands(s);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: 5000 },
    );
  });
});
