/**
 * RouterOS v7 style REST API on 127.0.0.1: GET/PUT/PATCH/DELETE /rest/<menu path>[/<.id>],
 * POST /rest/<menu path>/<command>, GET /metrics. Every change is turned into the
 * equivalent console command and run through the same engine, so REST and console
 * cannot disagree. Bearer token required (constant-time compare).
 */
import * as http from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { CulvertError } from '../errors.js';
import { quote } from './parser.js';
import { menuByPath, type Menu } from './schema.js';
import { newSession, type Engine } from './engine.js';
import type { MetricsRegistry } from './metrics.js';
import type { Logger } from './log.js';

const MAX_BODY = 1 << 20;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export interface RestOptions {
  engine: Engine;
  metrics: MetricsRegistry;
  token: string;
  log: Logger;
}

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) + '\n' : String(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: http.ServerResponse, status: number, detail: string, code?: string): void {
  const message = ({ 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 500: 'Internal Server Error' } as Record<number, string>)[status] ?? 'Error';
  send(res, status, { error: status, message, detail, ...(code ? { code } : {}) });
}

/** `/rest/interface/pptp-server/server/*1` -> menu + remaining segments. */
function splitPath(segs: string[]): { menu?: Menu; rest: string[] } {
  for (let n = segs.length; n > 0; n--) {
    const m = menuByPath('/' + segs.slice(0, n).join(' '));
    if (m) return { menu: m, rest: segs.slice(n) };
  }
  return { rest: segs };
}

function argsOf(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body !== 'object' || Array.isArray(body)) throw new CulvertError('REST_ERR_BODY', 'body must be a JSON object of property: value');
  const parts: string[] = [];
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (k === '.id' || k === '.proplist') continue;
    if (!/^[a-z][a-z0-9-]*$/.test(k)) throw new CulvertError('REST_ERR_BODY', `bad property name ${JSON.stringify(k)}`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new CulvertError('REST_ERR_BODY', `property ${k} must be a string`);
    const s = typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
    parts.push(`${k}=${quote(s, true)}`);
  }
  return parts.join(' ');
}

/** `monitor` text (`  status: "connected"` lines) as JSON objects, one per monitored item. */
export function keyValueBlocks(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z][a-z0-9-]*): (.*)$/.exec(line);
    if (!m) continue;
    if (!cur || m[1] in cur) out.push((cur = {}));
    cur[m[1]] = m[2].startsWith('"') && m[2].endsWith('"') ? m[2].slice(1, -1) : m[2];
  }
  return out;
}

export function createRestServer(o: RestOptions): http.Server {
  const want = digest(o.token);
  return http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !timingSafeEqual(digest(m[1].trim()), want)) {
      res.setHeader('www-authenticate', 'Bearer realm="culvert"');
      fail(res, 401, 'a bearer token is required (see rest-token in the data directory)');
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        fail(res, 413, 'body too large');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      handle(o, req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
        if (!res.headersSent) fail(res, 500, (e as Error).message);
      });
    });
  });
}

async function handle(o: RestOptions, req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  if (url.pathname === '/metrics') {
    if (method !== 'GET') return fail(res, 405, 'use GET');
    return send(res, 200, o.metrics.render(), 'text/plain; version=0.0.4');
  }
  if (!url.pathname.startsWith('/rest/') && url.pathname !== '/rest') return fail(res, 404, 'no such path; use /rest/<menu> or /metrics');
  const segs = url.pathname.split('/').slice(2).filter((s) => s !== '').map((s) => decodeURIComponent(s));
  let body: unknown;
  if (raw.trim() !== '') {
    try {
      body = JSON.parse(raw);
    } catch {
      return fail(res, 400, 'body is not valid JSON');
    }
  }
  const { menu, rest } = splitPath(segs);
  const session = newSession();
  const run = async (cmd: string) => o.engine.run(cmd, session);
  try {
    if (!menu) {
      // Root commands: POST /rest/export, POST /rest/import, POST /rest/system/reset-configuration.
      const cmdPath = segs.length === 2 && segs[0] === 'system' ? '/system ' + segs[1] : '/' + segs.join(' ');
      if (method !== 'POST' || segs.length === 0) return fail(res, 404, `no such menu /${segs.join('/')}`);
      const r = await run(`${cmdPath} ${argsOf(body)}`);
      return send(res, 200, { ret: r.ret ?? r.output });
    }
    const ident = rest[0];
    if (method === 'POST') {
      if (rest.length !== 1) return fail(res, 400, 'POST /rest/<menu>/<command>');
      const b = (body ?? {}) as Record<string, unknown>;
      const target = typeof b['.id'] === 'string' ? ' ' + quote(b['.id'] as string) : typeof b.numbers === 'string' ? ' ' + quote(b.numbers as string) : '';
      const { numbers: _n, ...restBody } = b;
      const r = await run(`${menu.path} ${rest[0]}${target} ${argsOf(restBody)}`);
      if (rest[0] === 'print') return send(res, 200, o.engine.restList(menu.path));
      if (rest[0] === 'monitor') return send(res, 200, keyValueBlocks(r.output));
      return send(res, 200, r.ret !== undefined ? { ret: r.ret } : { ret: r.output });
    }
    if (rest.length > 1) return fail(res, 404, 'no such item');
    if (method === 'GET') {
      const rows = o.engine.restList(menu.path);
      if (menu.kind === 'single') return send(res, 200, rows[0]);
      if (ident === undefined) {
        // `?name=x&disabled=no` filters, `.proplist=name,user` picks properties (as RouterOS v7).
        const props = url.searchParams.get('.proplist')?.split(',');
        const filtered = rows.filter((r) => [...url.searchParams].every(([k, v]) => k === '.proplist' || r[k] === v));
        return send(res, 200, props ? filtered.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => props.includes(k)))) : filtered);
      }
      const row = rows.find((r) => r['.id'] === ident || (menu.keyProp && r[menu.keyProp] === ident));
      return row ? send(res, 200, row) : fail(res, 404, 'no such item');
    }
    if (method === 'PUT') {
      if (menu.kind === 'single' || ident !== undefined) return fail(res, 400, 'PUT /rest/<menu> creates an item; use PATCH to change one');
      const r = await run(`${menu.path} add ${argsOf(body)}`);
      const row = o.engine.restList(menu.path).find((x) => x['.id'] === r.ret);
      return send(res, 201, row ?? { '.id': r.ret });
    }
    if (method === 'PATCH') {
      if (menu.kind === 'single') {
        await run(`${menu.path} set ${argsOf(body)}`);
        return send(res, 200, o.engine.restList(menu.path)[0]);
      }
      if (ident === undefined) return fail(res, 400, 'PATCH /rest/<menu>/<.id>');
      await run(`${menu.path} set ${quote(ident)} ${argsOf(body)}`);
      const row = o.engine.restList(menu.path).find((x) => x['.id'] === ident || (menu.keyProp && x[menu.keyProp] === ident));
      return send(res, 200, row ?? {});
    }
    if (method === 'DELETE') {
      if (ident === undefined) return fail(res, 400, 'DELETE /rest/<menu>/<.id>');
      await run(`${menu.path} remove ${quote(ident)}`);
      res.writeHead(204);
      res.end();
      return;
    }
    return fail(res, 405, `method ${method} not allowed`);
  } catch (e) {
    if (e instanceof CulvertError) {
      const status = e.code === 'CONSOLE_ERR_NO_SUCH_ITEM' ? 404 : 400;
      return fail(res, status, e.message, e.code);
    }
    throw e;
  }
}
