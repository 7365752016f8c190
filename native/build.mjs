#!/usr/bin/env node
// Builds the data-plane addon (binding.gyp in the repo root) with node-gyp, offline:
// it points node-gyp at the headers of the running node (e.g. /usr/include/node on
// Debian) so it never tries to download them, whatever the user's npmrc says.
// A failed build does not fail `npm ci`: the codec/protocol layers work without the
// addon, and src/io/native.ts explains what is missing when the data plane loads it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');

function findNodeDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

function findNodeGyp() {
  // npm tells scripts where its bundled node-gyp lives.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const req = createRequire(import.meta.url);
  for (const base of [root, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')]) {
    try {
      return req.resolve('node-gyp/bin/node-gyp.js', { paths: [base] });
    } catch { /* try the next place */ }
  }
  return undefined;
}

const gyp = findNodeGyp();
const nodedir = findNodeDir();
let status = 1;
let why = '';
if (!gyp) {
  why = 'node-gyp not found (it ships with npm)';
} else if (!nodedir) {
  why = `Node headers not found beside ${process.execPath} (install the distribution's nodejs headers)`;
} else {
  const args = [gyp, 'rebuild', `--nodedir=${nodedir}`];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  status = r.status ?? 1;
  if (status !== 0) why = `node-gyp rebuild exited with ${r.status ?? r.signal} (need gcc, make, python3)`;
}
if (status !== 0) {
  process.stderr.write(
    `\nculvert: the native data-plane addon was NOT built: ${why}.\n` +
      `culvert: TUN/UDP/GRE forwarding will be unavailable; fix the cause and run \`npm run build:native\`.\n\n`,
  );
  process.exit(strict ? status : 0);
}
