import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_PROFILES, resolveUseEncryption } from '../../../src/protocol/ppp/profiles.js';
import { ConfigError } from '../../../src/errors.js';

test('built-in profiles: default has no encryption, default-encryption has use-encryption=yes', () => {
  assert.equal(BUILTIN_PROFILES.default.useEncryption, 'no');
  assert.equal(BUILTIN_PROFILES['default-encryption'].useEncryption, 'yes');
});

test('use-encryption=default inherits; explicit values win; junk is a ConfigError', () => {
  assert.equal(resolveUseEncryption('default'), 'no');
  assert.equal(resolveUseEncryption(undefined, 'yes'), 'yes');
  assert.equal(resolveUseEncryption('required'), 'required');
  assert.throws(() => resolveUseEncryption('maybe' as never), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_INVALID_VALUE');
});
