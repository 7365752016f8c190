/**
 * The configuration store: round trip, atomic replace with a backup of the previous
 * version, and corrupt files reported by file and line (fuzzed: only ConfigError).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import { deserialize, emptyConfig, serialize } from '../../src/mgmt/model.js';
import { ConfigStore, STORE_FILE } from '../../src/mgmt/store.js';
import { tmpDir } from './helpers.js';

function sample() {
  const c = emptyConfig();
  c.lists['/ppp secret'].items.push({ id: c.lists['/ppp secret'].nextId++, values: { name: 'Laptop', password: 'p"w $x\\', service: 'pptp' } });
  c.singles['/interface pptp-server server'] = { enabled: 'yes' };
  c.lists['/ppp profile'].items[0].values['local-address'] = '198.18.0.1';
  return c;
}

describe('configuration store', () => {
  it('serialize/deserialize round trip', () => {
    const c = sample();
    assert.deepEqual(deserialize(serialize(c), 'x'), c);
    assert.deepEqual(deserialize(serialize(emptyConfig()), 'x'), emptyConfig());
  });

  it('save replaces the file atomically and keeps the previous version as .bak', () => {
    const dir = tmpDir();
    const st = new ConfigStore(path.join(dir, 'data'));
    st.ensureDir();
    assert.deepEqual(st.load(), emptyConfig(), 'missing file = empty configuration');
    st.save(emptyConfig());
    st.save(sample());
    assert.deepEqual(st.load(), sample());
    assert.deepEqual(deserialize(fs.readFileSync(st.backup, 'utf8'), st.backup), emptyConfig());
    assert.equal(fs.statSync(st.file).mode & 0o777, 0o600);
    assert.ok(!fs.existsSync(st.file + '.tmp'));
  });

  it('a torn temp file from a crash does not matter: the live file is whole', () => {
    const dir = tmpDir();
    const st = new ConfigStore(dir);
    st.save(sample());
    fs.writeFileSync(path.join(dir, STORE_FILE + '.tmp'), '{"culvert":1}\n{"item":"/ppp sec');
    assert.deepEqual(st.load(), sample());
    st.save(emptyConfig()); // the stale temp is simply overwritten
    assert.deepEqual(st.load(), emptyConfig());
  });

  it('names file and line of a corrupt store and points at the backup', () => {
    const dir = tmpDir();
    const st = new ConfigStore(dir);
    st.save(emptyConfig());
    st.save(sample());
    const lines = fs.readFileSync(st.file, 'utf8').split('\n');
    const bad: [number, string, RegExp][] = [
      [1, '{"culvert":2}', /line 1: missing header/],
      [2, '{"single":"/nope","values":{}}', /line 2: unknown menu \/nope/],
      [2, '{"single":"/ppp aaa","values":{"accounting":"perhaps"}}', /line 2: invalid value for argument accounting/],
      [3, '{"list":"/interface ethernet","nextId":0}', /line 3: bad nextId/],
      [3, '[1,2]', /line 3: not a JSON object/],
      [3, '{"oops":1}', /line 3: unknown record/],
    ];
    for (const [ln, text, re] of bad) {
      const copy = [...lines];
      copy[ln - 1] = text;
      fs.writeFileSync(st.file, copy.join('\n'));
      assert.throws(() => st.load(), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_CORRUPT_STORE' && e.message.includes(st.file) && re.test(e.message) && e.message.includes('.bak'), text);
    }
  });

  it('fuzz: mangled stores fail only with CONFIG_ERR_CORRUPT_STORE', () => {
    const good = serialize(sample());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length }), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 20 }), (at, cut, ins) => {
        const text = good.slice(0, at) + ins + good.slice(Math.min(good.length, at + cut));
        try {
          deserialize(text, 'f');
        } catch (e) {
          assert.ok(e instanceof ConfigError && e.code === 'CONFIG_ERR_CORRUPT_STORE', String(e));
        }
      }),
      { numRuns: 3000 },
    );
  });
});
