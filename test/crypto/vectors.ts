/** Loads /work/shared/vectors/*.json: CI clones the repo with shared/ beside it (../shared). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function vectorsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url)); // <repo>/dist/test/crypto
  const candidates = [
    process.env.CULVERT_SHARED ? resolve(process.env.CULVERT_SHARED, 'vectors') : '',
    resolve(process.cwd(), '../shared/vectors'),
    resolve(here, '../../../../shared/vectors'),
  ].filter(Boolean);
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`shared/vectors not found (tried ${candidates.join(', ')})`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadVectors(name: string): any {
  return JSON.parse(readFileSync(resolve(vectorsDir(), name), 'utf8'));
}

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
