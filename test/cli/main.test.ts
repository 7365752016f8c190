/**
 * bin/culvert as a user runs it: one-shot commands with exit codes, a script on stdin,
 * and the interactive console in a pseudo-terminal (script(1)) with prompt, navigation,
 * continuation lines, tab completion and history.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, Netns, startDaemon, tmpDir, type DaemonProc } from '../mgmt/helpers.js';
import { argvToCommand } from '../../src/cli/main.js';

function culvert(args: string[], input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(BIN, args, { input: input ?? '', encoding: 'utf8', timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Type keys into the interactive console inside a pty; returns the screen text. */
function typeInto(args: string[], keys: string[], home: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const cmd = [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const p = spawn('script', ['-q', '-c', cmd, '/dev/null'], { env: { ...process.env, HOME: home, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d: string) => { out += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`console did not exit; screen:\n${out}`)); }, 20000);
    p.on('exit', () => { clearTimeout(timer); resolve(out); });
    let i = 0;
    const next = () => {
      if (i >= keys.length) return;
      p.stdin.write(keys[i++]);
      setTimeout(next, 250);
    };
    setTimeout(next, 700);
  });
}

describe('culvert command line', () => {
  let ns: Netns;
  let d: DaemonProc;
  before(async () => {
    ns = new Netns();
    d = await startDaemon({ netns: ns });
  });
  after(async () => {
    await d?.stop();
    ns?.remove();
  });

  it('runs one command and exits 0, or prints the failure and exits 1', () => {
    let r = culvert(['--socket', d.socket, '/interface', 'pptp-client', 'add', 'name=t1', 'user=u', 'connect-to=198.18.1.1']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    r = culvert(['--socket', d.socket, '/interface', 'pptp-client', 'print']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Flags: X - disabled, R - running\n {2}0 X {2}name="t1"/);
    r = culvert(['--socket', d.socket, '/interface', 'pptp-client', 'set', 't1', 'max-mtu=10']);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'failure: invalid value for argument max-mtu: must be 64..65535 (got "10")\n');
  });

  it('keeps a value with spaces that the shell unquoted as one argument', () => {
    const r = culvert(['--socket', d.socket, '/ppp', 'secret', 'add', 'name=Home', 'routes=198.18.202.0/24 198.18.1.2 1', 'password=a b"c']);
    assert.equal(r.code, 0, r.err);
    assert.match(culvert(['--socket', d.socket, '/ppp secret print detail']).out, /password="a b\\"c".*\n.*routes="198\.18\.202\.0\/24 198\.18\.1\.2 1"/s);
    assert.equal(argvToCommand(['set', '[ find name=x ]', 'comment=a;b']), 'set [ find name=x ] comment="a;b"');
  });

  it('reads a script on stdin: navigation, continuations, and a non-zero exit if a line failed', () => {
    const r = culvert(['--socket', d.socket], '/ip pool\nadd name=p1 \\\n  ranges=198.18.9.1-198.18.9.9\nprint\nadd name=p1 ranges=198.18.9.1\n');
    assert.equal(r.code, 1);
    assert.match(r.out, /p1\s+198\.18\.9\.1-198\.18\.9\.9/);
    assert.match(r.err, /^failure: line 5: failure: an item with name p1 already exists in \/ip pool/);
  });

  it('says clearly when no daemon is running', () => {
    const r = culvert(['--socket', path.join(tmpDir(), 'none.sock'), '/export']);
    assert.equal(r.code, 3);
    assert.match(r.err, /cannot reach the culvert daemon at .*none\.sock \(ENOENT\); is `culvert daemon` running\?/);
    const h = culvert(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /culvert daemon \[--data-dir DIR\] \[--socket PATH\]/);
  });

  it('interactive console: prompt, menus, tab completion, continuation, history', async () => {
    const home = tmpDir();
    const screen = await typeInto(['--socket', d.socket], [
      '/interface pptp-cl\t', '\r',
      'add user=a connect-to=198.18.1.1 \\\r', 'name=live1\r',
      'print\r',
      'monitor live1\r', '', '', '', '', 'q',
      'set ?\r',
      '..\r',
      'bogus\r',
      '/system reset-configuration\r', 'n\r',
      '/interface pptp-client print count-only\r',
      '/quit\r',
    ], home);
    const plain = screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
    assert.match(plain, /\[admin@culvert\] > \/interface pptp-client\n/, 'Tab completed the menu name');
    assert.match(plain, /\[admin@culvert\] \/interface pptp-client> add user=a connect-to=198\.18\.1\.1 \\\n\\\.\.\. name=live1/);
    assert.match(plain, /name="live1"/);
    assert.match(plain, /monitor live1\n {2}status: "terminated"\n-- \[any key to quit\]\n/, 'live monitor redraws until a key');
    assert.match(plain, /set \?\n.*add-default-route=.*max-mtu=/, '? lists what can follow');
    assert.match(plain, /\[admin@culvert\] \/interface> bogus\nfailure: bad command name bogus/);
    assert.match(plain, /Dangerous! Reset anyway\? \[y\/N\]: n\naction cancelled\n/);
    assert.match(plain, /print count-only\n[1-9]\d*\n/);
    const hist = fs.readFileSync(path.join(home, '.culvert_history'), 'utf8');
    assert.match(hist, /^\/interface pptp-client\n/);
    assert.equal(fs.statSync(path.join(home, '.culvert_history')).mode & 0o777, 0o600);
  });
});
