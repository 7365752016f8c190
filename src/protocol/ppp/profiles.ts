/**
 * RouterOS built-in PPP profiles, as far as the PPP engine cares (`use-encryption`).
 * `default`: use-encryption=no; `default-encryption`: use-encryption=yes (the client's
 * default profile in the seeds). A profile value of `default` inherits from the built-in
 * `default` profile, i.e. means no.
 */
import { ConfigError } from '../../errors.js';
import type { UseEncryption } from './options/ccp-context.js';

export type ProfileUseEncryption = UseEncryption | 'default';

export const BUILTIN_PROFILES: Readonly<Record<'default' | 'default-encryption', { useEncryption: UseEncryption }>> = {
  default: { useEncryption: 'no' },
  'default-encryption': { useEncryption: 'yes' },
};

/** The effective use-encryption of a profile value (`default` inherits `no` from the default profile). */
export function resolveUseEncryption(value: ProfileUseEncryption | undefined, inherited: UseEncryption = BUILTIN_PROFILES.default.useEncryption): UseEncryption {
  switch (value) {
    case undefined:
    case 'default':
      return inherited;
    case 'no':
    case 'yes':
    case 'required':
      return value;
    default:
      throw new ConfigError('CONFIG_ERR_INVALID_VALUE', `use-encryption ${JSON.stringify(value)}: expected default, no, yes or required`);
  }
}
