/**
 * `culvert` command line:
 *   culvert daemon [--data-dir DIR] [--socket PATH] [--rest-port N] [--rest-address ADDR]
 *   culvert [--socket PATH] COMMAND...      one console command, exit 1 on error
 *   culvert [--socket PATH]                 interactive console (or a script on stdin)
 */
import * as fs from 'node:fs';
import { ConfigError, CulvertError } from '../errors.js';
import { quote } from '../mgmt/parser.js';
import { ControlClient } from './client.js';
import { interactive } from './console.js';

const USAGE = `usage:
  culvert daemon [--data-dir DIR] [--socket PATH] [--rest-port PORT] [--rest-address ADDR]
      run the service in the foreground (defaults: /var/lib/culvert, /run/culvert/culvert.sock,
      REST API off; --rest-port 0 = off)
  culvert [--socket PATH] COMMAND...
      run one console command, e.g. culvert /interface pptp-client print
  culvert [--socket PATH]
      interactive console (reads commands from stdin when it is not a terminal)
`;

interface Parsed {
  flags: Record<string, string>;
  rest: string[];
}

function parseArgs(argv: string[], known: string[]): Parsed {
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest.length === 0 && a.startsWith('--')) {
      const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i]];
      if (k === 'help') { flags.help = '1'; continue; }
      if (!known.includes(k)) throw new ConfigError('CLI_ERR_USAGE', `unknown option --${k}`);
      if (v === undefined) throw new ConfigError('CLI_ERR_USAGE', `option --${k} needs a value`);
      flags[k] = v;
    } else rest.push(a);
  }
  return { flags, rest };
}

/** Re-quote argv words the shell unquoted: `routes=10.0.0.0/8 1.2.3.4 1` -> `routes="10.0.0.0/8 1.2.3.4 1"`. */
export function argvToCommand(words: string[]): string {
  return words
    .map((w) => {
      if (/^[^\s"\\;[\]$?]*$/.test(w) && w !== '') return w;
      const eq = w.indexOf('=');
      if (eq > 0 && /^[a-z][a-z0-9-]*$/.test(w.slice(0, eq))) return `${w.slice(0, eq)}=${quote(w.slice(eq + 1), true)}`;
      if (w.startsWith('[') && w.endsWith(']')) return w;
      return quote(w, true);
    })
    .join(' ');
}

async function runDaemon(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, ['data-dir', 'socket', 'rest-port', 'rest-address']);
  if (flags.help) { process.stdout.write(USAGE); return 0; }
  const { Daemon, DEFAULT_DATA_DIR, DEFAULT_SOCKET } = await import('../mgmt/daemon.js');
  const { LinuxHost } = await import('../mgmt/linux.js');
  const { stderrLogger } = await import('../mgmt/log.js');
  const log = stderrLogger('culvert');
  const restPort = flags['rest-port'] === undefined || flags['rest-port'] === 'off' ? 0 : Number(flags['rest-port']);
  if (!Number.isInteger(restPort) || restPort < 0 || restPort > 65535) throw new ConfigError('CLI_ERR_USAGE', '--rest-port must be 0..65535 or off');
  let daemon: InstanceType<typeof Daemon>;
  try {
    // Checked before anything starts: the data plane applies it when a tunnel opens.
    const { wantedScheduling } = await import('../io/native.js');
    const sched = wantedScheduling();
    log('info', `data plane scheduling: ${sched === 'batch' ? 'SCHED_BATCH (CULVERT_SCHED=normal turns it off)' : 'left as started (CULVERT_SCHED=normal)'}`);
    daemon = new Daemon({
      dataDir: flags['data-dir'] ?? DEFAULT_DATA_DIR,
      socketPath: flags.socket ?? process.env.CULVERT_SOCKET ?? DEFAULT_SOCKET,
      restPort,
      restAddress: flags['rest-address'] ?? '127.0.0.1',
      host: new LinuxHost((m) => log('info', m)),
      log,
    });
    await daemon.start();
  } catch (e) {
    log('error', `refusing to start: ${(e as Error).message}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const onSig = (sig: string) => {
      log('info', `${sig} received`);
      void daemon.stop().then(resolve);
    };
    process.once('SIGTERM', () => onSig('SIGTERM'));
    process.once('SIGINT', () => onSig('SIGINT'));
  });
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function runClient(argv: string[]): Promise<number> {
  const { flags, rest } = parseArgs(argv, ['socket']);
  if (flags.help) { process.stdout.write(USAGE); return 0; }
  const socketPath = flags.socket ?? process.env.CULVERT_SOCKET ?? '/run/culvert/culvert.sock';
  let client: ControlClient;
  try {
    client = await ControlClient.connect(socketPath);
  } catch (e) {
    process.stderr.write(`culvert: ${(e as Error).message}\n`);
    return 3;
  }
  try {
    if (rest.length > 0) {
      // One argument is a whole command line (`culvert "/ppp secret print detail"`); several are argv words.
      const r = await client.run(rest.length === 1 ? rest[0] : argvToCommand(rest));
      if (!r.ok) {
        process.stderr.write(`failure: ${r.error}\n`);
        return 1;
      }
      process.stdout.write(r.output ?? '');
      return 0;
    }
    if (process.stdin.isTTY) return await interactive(client);
    // A script on stdin: each line (with `\` continuations) is one command, like typing it.
    const text = await readStdin();
    let status = 0;
    let cwd = '/';
    const lines = text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      let line = lines[n];
      while (line.endsWith('\\') && n + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++n];
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      const r = await client.run(line, cwd);
      if (r.cwd) cwd = r.cwd;
      if (r.ok) process.stdout.write(r.output ?? '');
      else {
        process.stderr.write(`failure: line ${n + 1}: ${r.error}\n`);
        status = 1;
      }
    }
    return status;
  } catch (e) {
    process.stderr.write(`culvert: ${(e as Error).message}\n`);
    return 3;
  } finally {
    client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'daemon') return await runDaemon(argv.slice(1));
    return await runClient(argv);
  } catch (e) {
    if (e instanceof CulvertError && e.code === 'CLI_ERR_USAGE') {
      process.stderr.write(`culvert: ${e.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`culvert: ${(e as Error).message}\n`);
    return 1;
  }
}

// Run when executed directly (bin/culvert imports this file).
const self = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (self.endsWith('/cli/main.js') || self.endsWith('/bin/culvert')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The daemon has closed everything; clients may have stdin listeners.
      if (process.argv[2] !== 'daemon') setImmediate(() => process.exit(code));
      else setImmediate(() => process.exit(code));
    },
    (e) => {
      process.stderr.write(`culvert: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
