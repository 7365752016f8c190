import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors.js';
import * as T from '../../src/mgmt/types.js';
import { MENUS } from '../../src/mgmt/schema.js';

const rejects = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_INVALID_VALUE' && re.test(e.message));

describe('property value types', () => {
  it('integers name the property and the range', () => {
    assert.equal(T.int(64, 65535).parse('1460', 'max-mtu'), '1460');
    assert.equal(T.int(64, 65535).parse('01460', 'max-mtu'), '1460');
    rejects(() => T.int(64, 65535).parse('10', 'max-mtu'), /^invalid value for argument max-mtu: must be 64\.\.65535/);
    rejects(() => T.int(0, 255).parse('1e3', 'distance'), /distance: must be 0\.\.255/);
  });

  it('mrru is disabled or 512..65535', () => {
    const t = T.intOrDisabled(512, 65535);
    assert.equal(t.parse('DISABLED', 'mrru'), 'disabled');
    assert.equal(t.parse('1614', 'mrru'), '1614');
    rejects(() => t.parse('511', 'mrru'), /mrru: must be disabled \| 512\.\.65535/);
  });

  it('sets print in the declared order whatever the input order', () => {
    const allow = T.setOf(['pap', 'chap', 'mschap1', 'mschap2']);
    assert.equal(allow.parse('mschap2,pap', 'allow'), 'pap,mschap2');
    assert.equal(allow.parse('mschap2, mschap1, chap, pap', 'allow'), 'pap,chap,mschap1,mschap2');
    rejects(() => allow.parse('eap', 'allow'), /allow: must be one or more of/);
  });

  it('durations round-trip through RouterOS notation', () => {
    assert.equal(T.formatDuration(7 * 3600 + 24 * 60 + 18), '7h24m18s');
    assert.equal(T.duration().parse('90', 'x'), '1m30s');
    assert.equal(T.duration().parse('1d', 'x'), '1d');
    assert.equal(T.duration().parse('0s', 'x'), '0s');
    assert.equal(T.seconds(1, 100).parse('1m', 'keepalive-timeout'), '60');
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 8 }), (n) => T.parseDuration(T.formatDuration(n)) === n));
  });

  it('addresses, networks and ranges are normalised', () => {
    assert.equal(T.ipNetwork.parse('10.1.101.7/24', 'dst-address'), '10.1.101.0/24');
    assert.equal(T.ipPrefix.parse('198.18.0.1', 'address'), '198.18.0.1/32');
    assert.equal(T.ranges.parse('192.168.99.2-192.168.99.100', 'ranges'), '192.168.99.2-192.168.99.100');
    rejects(() => T.ranges.parse('1.1.1.9-1.1.1.1', 'ranges'), /ranges/);
    assert.equal(T.gateway.parse('pptp-out1', 'gateway'), 'pptp-out1');
    rejects(() => T.gateway.parse('a b', 'gateway'), /gateway/);
  });

  it('secret text is never echoed back in an error', () => {
    assert.throws(() => T.secretText(3).parse('hunter2', 'password'), (e: Error) => !e.message.includes('hunter2'));
  });

  it('fuzz: every schema type accepts or throws ConfigError, and parse is idempotent', () => {
    const types = MENUS.flatMap((m) => m.props.map((p) => [p.name, p.type] as const));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: types.length - 1 }), fc.oneof(fc.string({ maxLength: 40 }), fc.ipV4(), fc.integer().map(String)), (i, v) => {
        const [name, t] = types[i];
        let once: string;
        try {
          once = t.parse(v, name);
        } catch (e) {
          assert.ok(e instanceof ConfigError);
          return;
        }
        assert.equal(t.parse(once, name), once, `${name}: ${v}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('schema defaults are canonical values of their own types', () => {
    for (const m of MENUS) for (const p of m.props) if (p.default !== undefined && !(p.default === '' && !p.type.quoted)) assert.equal(p.type.parse(p.default, p.name), p.default, `${m.path} ${p.name}`);
  });
});
