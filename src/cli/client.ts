/**
 * Control-socket client: one JSON object per line each way, answers in request order.
 */
import * as net from 'node:net';
import { IoError } from '../errors.js';

export interface Reply {
  ok: boolean;
  output?: string;
  error?: string;
  code?: string;
  cwd?: string;
  ret?: string;
  completions?: string[];
}

export class ControlClient {
  private readonly sock: net.Socket;
  private buf = '';
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private closedError?: Error;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiting.shift();
        try {
          w?.resolve(JSON.parse(line) as Reply);
        } catch (e) {
          w?.reject(e as Error);
        }
      }
    });
    const onEnd = (e?: Error) => {
      this.closedError = new IoError('IO_ERR_DAEMON_GONE', `the culvert daemon closed the connection${e ? ': ' + e.message : ''}`);
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    };
    sock.on('error', onEnd);
    sock.on('close', () => onEnd());
  }

  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(new ControlClient(s)));
      s.once('error', (e: NodeJS.ErrnoException) => {
        reject(new IoError('IO_ERR_NO_DAEMON', `cannot reach the culvert daemon at ${socketPath} (${e.code ?? e.message}); is \`culvert daemon\` running?`));
      });
    });
  }

  request(req: Record<string, unknown>): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(JSON.stringify(req) + '\n');
    });
  }

  run(cmd: string, cwd?: string): Promise<Reply> {
    return this.request(cwd ? { cmd, cwd } : { cmd });
  }

  close(): void {
    this.sock.end();
  }
}
