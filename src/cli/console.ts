/**
 * The interactive console: `[admin@culvert] /interface pptp-client> ` prompt, menu
 * navigation, `\` continuation lines, history (kept in ~/.culvert_history), tab
 * completion of menus, commands and property names (asked from the daemon, which owns
 * the schema), and live `monitor` until a key is pressed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { ControlClient } from './client.js';
import { MENUS } from '../mgmt/schema.js';

const IDENTITY = 'culvert';
const HISTORY_MAX = 500;

export function promptFor(cwd: string): string {
  return `[admin@${IDENTITY}] ${cwd === '/' ? '' : cwd}> `;
}

function historyFile(): string {
  return path.join(process.env.HOME ?? os.homedir(), '.culvert_history');
}

function loadHistory(): string[] {
  try {
    return fs.readFileSync(historyFile(), 'utf8').split('\n').filter((l) => l !== '').reverse().slice(0, HISTORY_MAX);
  } catch {
    return [];
  }
}

const SECRET_NAMES = [...new Set(MENUS.flatMap((m) => m.props.filter((p) => p.secret).map((p) => p.name)))];
const ASSIGNMENT = /(^|\s)([a-z][a-z0-9-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;

/**
 * History lines as stored on disk: the value of every secret property (password=,
 * ipsec-secret=..., also abbreviated as the console accepts) is replaced by ***, since
 * the file outlives the session.
 */
export function redactHistoryLine(line: string): string {
  return line.replace(ASSIGNMENT, (all, pre: string, key: string) =>
    SECRET_NAMES.some((n) => n.startsWith(key)) ? `${pre}${key}=***` : all);
}

function saveHistory(h: readonly string[]): void {
  try {
    const lines = [...h].slice(0, HISTORY_MAX).reverse().map(redactHistoryLine);
    fs.writeFileSync(historyFile(), lines.join('\n') + '\n', { mode: 0o600 });
  } catch {
    // history is a convenience
  }
}

/** `monitor X` without `once` on a terminal: redraw every second until a key is pressed. */
async function liveMonitor(client: ControlClient, line: string, cwd: string, rl: readline.Interface): Promise<void> {
  // readline keeps stdin in raw mode and emits 'keypress'; any key ends the monitor.
  let stop = false;
  const onKey = () => { stop = true; };
  process.stdin.on('keypress', onKey);
  let lines = 0;
  try {
    while (!stop) {
      const r = await client.run(`${line} once`, cwd);
      if (lines) process.stdout.write(`\x1b[${lines}A\x1b[J`);
      const text = r.ok ? (r.output ?? '') : `failure: ${r.error}\n`;
      process.stdout.write(text + '-- [any key to quit]\n');
      lines = text.split('\n').length;
      if (!r.ok) break;
      for (let i = 0; i < 10 && !stop; i++) await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    process.stdin.off('keypress', onKey);
    // Drop the key that ended the monitor from the input line.
    rl.write(null, { ctrl: true, name: 'u' });
  }
}

export async function interactive(client: ControlClient): Promise<number> {
  let cwd = '/';
  const history = loadHistory();
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history,
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      const last = line.split(/\s+/).pop() ?? '';
      client
        .request({ complete: line, cwd })
        .then((r) => cb(null, [r.completions ?? [], last]))
        .catch(() => cb(null, [[], last]));
    },
  });
  process.stdout.write(`culvert console: type a command, "/" for the root menu, ".." to go up, Tab or "?" for help, "/quit" to leave\n\n`);
  let pending = '';
  rl.setPrompt(promptFor(cwd));
  rl.prompt();
  for await (const input of rl) {
    if (input.endsWith('\\')) {
      pending += input.slice(0, -1) + ' ';
      rl.setPrompt('\\... ');
      rl.prompt();
      continue;
    }
    const line = (pending + input).trim();
    pending = '';
    if (line === 'quit' || line === '/quit' || line === 'exit') break;
    if (/(^|\s|\/)reset-configuration(\s|$)/.test(line)) {
      const answer = await new Promise<string>((res) => rl.question('Dangerous! Reset anyway? [y/N]: ', res));
      if (!/^y(es)?$/i.test(answer.trim())) {
        process.stdout.write('action cancelled\n');
        rl.setPrompt(promptFor(cwd));
        rl.prompt();
        continue;
      }
    }
    if (line.endsWith('?')) {
      const r = await client.request({ complete: line.slice(0, -1).trimEnd() + ' ', cwd }).catch(() => undefined);
      process.stdout.write((r?.completions ?? []).join('  ') + '\n');
      rl.setPrompt(promptFor(cwd));
      rl.prompt();
      continue;
    }
    if (line !== '') {
      try {
        if (/(^|\s)monitor(\s|$)/.test(line) && !/(^|\s)once(\s|$)/.test(line) && process.stdout.isTTY) {
          await liveMonitor(client, line, cwd, rl);
        } else {
          const r = await client.run(line, cwd);
          if (r.ok) process.stdout.write(r.output ?? '');
          else process.stdout.write(`failure: ${r.error}\n`);
          if (r.cwd) cwd = r.cwd;
        }
      } catch (e) {
        process.stdout.write(`${(e as Error).message}\n`);
        rl.close();
        saveHistory((rl as unknown as { history: string[] }).history ?? []);
        return 3;
      }
    }
    rl.setPrompt(promptFor(cwd));
    rl.prompt();
  }
  saveHistory((rl as unknown as { history: string[] }).history ?? []);
  rl.close();
  return 0;
}
