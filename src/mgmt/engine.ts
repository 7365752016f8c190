/**
 * The console command interpreter. One engine per daemon; each client connection has a
 * Session (current menu, numbers from its last print). A command line is run on a clone
 * of the configuration and committed (validated, persisted, runtimes told) only if every
 * command in it succeeded: a failing command changes nothing.
 */
import { isIPv4 } from 'node:net';
import { ConfigError, CulvertError } from '../errors.js';
import { splitCommands, stripPrompt, tokenize, quote, type Token } from './parser.js';
import { DIRECTORIES, MENUS, menuByPath, type FlagName, type Menu, type Prop } from './schema.js';
import { defaultsOf, effective, emptyConfig, idText, makeView, type ConfigData, type Item } from './model.js';
import { exportArgs, printDetail, printKeyValues, printTable, singlePairs, type Row } from './printer.js';
import type { Host } from './host.js';
import type { DynamicItem, RuntimeRegistry } from './runtime.js';
import { networkOf } from './types.js';

export interface Session {
  cwd: string;
  /** Keys of the rows of the last print, per menu (RouterOS numbers items from the last print). */
  numbers: Map<string, string[]>;
}

export function newSession(): Session {
  return { cwd: '/', numbers: new Map() };
}

export interface EngineOptions {
  host: Host;
  runtimes: RuntimeRegistry;
  /** Persist a committed configuration (atomic, durable) before it takes effect. */
  persist(cfg: ConfigData): void;
  /** Read a file named by `/import file=` (relative to the data directory). */
  readFile(name: string): string;
  /** Write `/export file=` output. */
  writeFile(name: string, text: string): void;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
  /** Seconds since the daemon started, for /system resource style output (unused). */
}

export interface RunResult {
  output: string;
  /** Value of the last command (the new item's .id for add). */
  ret?: string;
  changed: boolean;
}

interface Ctx {
  work: ConfigData;
  session: Session;
  changed: Set<string>;
  effects: (() => Promise<void>)[];
  importDepth: number;
  ret?: string;
  /** Redacted command text for the log. */
  logged: string[];
}

/** A displayed row: a stored item, a dynamic entry, or a host interface. */
interface Entry {
  key: string;
  item?: Item;
  dyn?: DynamicItem;
  values: Record<string, string>;
  flags: Set<FlagName>;
  dynamic: boolean;
}

const ROOT_COMMANDS = ['export', 'import', 'ping', 'quit'];
const GLOBAL_COMMANDS = ['export', 'quit'];
const INTERFACE_MENUS = ['/interface pptp-client', '/interface l2tp-client', '/interface pptp-server', '/interface l2tp-server'];

function err(code: string, msg: string): ConfigError {
  return new ConfigError(code, msg);
}

function joinPath(base: string, w: string): string {
  return base === '/' ? '/' + w : base + ' ' + w;
}

function parentPath(p: string): string {
  const i = p.lastIndexOf(' ');
  return i < 0 ? '/' : p.slice(0, i);
}

export class Engine {
  data: ConfigData;
  private queue: Promise<unknown> = Promise.resolve();
  readonly opts: EngineOptions;

  constructor(data: ConfigData, opts: EngineOptions) {
    this.data = data;
    this.opts = opts;
  }

  /** Run one console input (may hold several `;`-separated commands). Serialised with every other run. */
  run(line: string, session: Session): Promise<RunResult> {
    const p = this.queue.then(() => this.runNow(line, session));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async runNow(line: string, session: Session): Promise<RunResult> {
    const ctx: Ctx = { work: structuredClone(this.data), session: { cwd: session.cwd, numbers: new Map(session.numbers) }, changed: new Set(), effects: [], importDepth: 0, logged: [] };
    let output = '';
    // A transcript pasted with its prompts runs in the menu the prompt shows.
    const prompt = stripPrompt(line);
    if (prompt) {
      if (!DIRECTORIES.has(prompt.path)) throw err('CONSOLE_ERR_BAD_COMMAND', `no such menu ${prompt.path} (from the pasted prompt)`);
      ctx.session.cwd = prompt.path;
      line = prompt.rest;
    }
    for (const cmd of splitCommands(line)) output += await this.exec(cmd, ctx);
    if (ctx.changed.size) {
      this.validateAll(ctx.work);
      this.opts.persist(ctx.work);
      this.data = ctx.work;
      for (const l of ctx.logged) this.opts.log('info', `config changed: ${l}`);
      const view = makeView(this.data);
      this.opts.runtimes.notify(view, ctx.changed, (rt, e) => this.opts.log('error', `runtime ${rt.name} failed to apply the change: ${(e as Error).message}`));
      if (ctx.changed.has('/ip address') || ctx.changed.has('/ip route') || ctx.changed.has('*')) {
        try {
          await this.opts.host.apply(view);
        } catch (e) {
          this.opts.log('warn', `applying addresses/routes: ${(e as Error).message}`);
        }
      }
    }
    // Side effects (ARP mode, disconnecting a user) run only once the command has succeeded.
    for (const eff of ctx.effects) {
      try {
        await eff();
      } catch (e) {
        this.opts.log('warn', (e as Error).message);
        output += `warning: ${(e as Error).message}\n`;
      }
    }
    session.cwd = ctx.session.cwd;
    session.numbers = ctx.session.numbers;
    return { output, ret: ctx.ret, changed: ctx.changed.size > 0 };
  }

  // ---------------------------------------------------------------- dispatch

  private async exec(cmdLine: string, ctx: Ctx): Promise<string> {
    const toks = tokenize(cmdLine);
    if (toks.length === 0) return '';
    let path = ctx.session.cwd;
    let i = 0;
    const first = toks[0];
    if (!first.key && !first.quoted && !first.bracket && first.value.startsWith('/')) {
      path = '/';
      const rest = first.value.slice(1);
      if (rest === '') i = 1;
      else toks[0] = { ...first, value: rest };
    }
    for (; i < toks.length; i++) {
      const t = toks[i];
      if (t.key !== undefined || t.quoted || t.bracket) break;
      if (t.value === '..') { path = parentPath(path); continue; }
      const cand = joinPath(path, t.value);
      if (DIRECTORIES.has(cand)) { path = cand; continue; }
      // `/interface pptp-server server> print`: a prompt's `>` typed along with the path.
      if (t.value.endsWith('>') && DIRECTORIES.has(joinPath(path, t.value.slice(0, -1)))) { path = joinPath(path, t.value.slice(0, -1)); continue; }
      break;
    }
    if (i >= toks.length) {
      ctx.session.cwd = path;
      return '';
    }
    const cmdTok = toks[i];
    const args = toks.slice(i + 1);
    if (cmdTok.key !== undefined || cmdTok.quoted || cmdTok.bracket) {
      throw err('CONSOLE_ERR_BAD_COMMAND', `bad command name ${cmdTok.key ?? cmdTok.value} (line 1 column ${cmdTok.col})`);
    }
    const cmd = cmdTok.value;
    const menu = menuByPath(path);
    if (path === '/' && ROOT_COMMANDS.includes(cmd)) return this.rootCommand(cmd, args, ctx);
    if (path === '/system' && cmd === 'reset-configuration') return this.reset(args, ctx);
    if (cmd === 'quit' && GLOBAL_COMMANDS.includes(cmd)) return '';
    if (!menu) {
      if (cmd === 'export') return this.exportAll(args, ctx, path);
      throw err('CONSOLE_ERR_BAD_COMMAND', `bad command name ${cmd} (line 1 column ${cmdTok.col})${path === '/' ? '' : ` in ${path}`}`);
    }
    if (cmd !== 'print' && !menu.commands.includes(cmd)) {
      const known = ['print', ...menu.commands].join(', ');
      throw err('CONSOLE_ERR_BAD_COMMAND', `bad command name ${cmd} (line 1 column ${cmdTok.col}); ${menu.path} has: ${known}`);
    }
    switch (cmd) {
      case 'print': return this.print(menu, args, ctx);
      case 'add': return this.add(menu, args, ctx);
      case 'set': return this.set(menu, args, ctx);
      case 'unset': return this.unset(menu, args, ctx);
      case 'remove': return this.remove(menu, args, ctx);
      case 'enable':
      case 'disable': return this.enableDisable(menu, args, ctx, cmd === 'disable');
      case 'comment': return this.comment(menu, args, ctx);
      case 'monitor': return this.monitor(menu, args, ctx);
      case 'export': return this.exportAll(args, ctx, menu.path);
      case 'find': return this.find(menu, args, ctx).join(';') + '\n';
    }
    throw err('CONSOLE_ERR_BAD_COMMAND', `bad command name ${cmd}`);
  }

  // ---------------------------------------------------------------- rows

  /** The rows of a menu in display order: dynamic entries first, then stored items. */
  private entries(menu: Menu, work: ConfigData): Entry[] {
    const rt = this.opts.runtimes;
    const out: Entry[] = [];
    if (menu.summary) return this.summaryEntries(work);
    if (menu.linux) {
      const stored = work.lists[menu.path]?.items ?? [];
      for (const e of this.opts.host.listEthernet()) {
        const it = stored.find((s) => s.values.name === e.name);
        const values: Record<string, string> = { name: e.name, mtu: String(e.mtu), 'mac-address': e.mac, arp: e.arp };
        if (it?.values.comment) values.comment = it.values.comment;
        const flags = new Set<FlagName>();
        if (!e.up) flags.add('disabled');
        if (e.running) flags.add('running');
        out.push({ key: e.name, item: it, values, flags, dynamic: false });
      }
      return out;
    }
    if (menu.path === '/ip ipsec peer') {
      const l2tp = makeView(work).single('/interface l2tp-server server');
      if (l2tp['use-ipsec'] !== 'no') {
        out.push({
          key: 'l2tp-ipsec',
          values: {
            address: '0.0.0.0/0', 'local-address': '0.0.0.0', passive: 'yes', port: '500', 'auth-method': 'pre-shared-key',
            secret: l2tp['ipsec-secret'] ?? '', 'generate-policy': 'port-strict', 'exchange-mode': 'main-l2tp',
            'send-initial-contact': 'yes', 'nat-traversal': 'yes', 'hash-algorithm': 'sha1',
            'enc-algorithm': '3des,aes-128,aes-192,aes-256', 'dh-group': 'modp1024', lifetime: '1d', 'dpd-interval': '2m',
            'dpd-maximum-failures': '5',
          },
          flags: new Set<FlagName>(['dynamic']),
          dynamic: true,
        });
      }
    }
    for (const d of rt.dynamicItems(menu.path)) {
      const flags = new Set<FlagName>(['dynamic']);
      if (d.running) flags.add('running');
      if (menu.path === '/ip route' && d.running !== false) flags.add('active');
      out.push({ key: d.key, dyn: d, values: { ...d.values }, flags, dynamic: true });
    }
    if (menu.dynamicOnly) return out;
    for (const it of work.lists[menu.path]?.items ?? []) {
      const values = effective(menu, it);
      const flags = new Set<FlagName>();
      if (values.disabled === 'yes') flags.add('disabled');
      if (it.builtin) flags.add('default');
      const iv = { id: idText(it.id), values };
      const st = rt.status(menu.path, iv);
      if (st?.running) flags.add('running');
      if (st?.values) Object.assign(values, st.values);
      if (menu.path === '/ip address') {
        const [a, len] = values.address.split('/');
        values.network = networkOf(a, Number(len));
        if (this.opts.host.addressInvalid(iv)) flags.add('invalid');
      }
      if (menu.path === '/ip route') {
        flags.add('static');
        if (values.disabled !== 'yes' && this.opts.host.routeActive(iv)) flags.add('active');
      }
      out.push({ key: idText(it.id), item: it, values, flags, dynamic: false });
    }
    return out;
  }

  private summaryEntries(work: ConfigData): Entry[] {
    const out: Entry[] = [];
    for (const e of this.opts.host.listEthernet()) {
      const flags = new Set<FlagName>();
      if (!e.up) flags.add('disabled');
      if (e.running) flags.add('running');
      out.push({ key: e.name, values: { name: e.name, type: 'ether', mtu: String(e.mtu) }, flags, dynamic: false });
    }
    for (const path of INTERFACE_MENUS) {
      const m = menuByPath(path)!;
      const type = path.includes('client') ? path.split(' ')[1].replace('-client', '-out') : path.split(' ')[1].replace('-server', '-in');
      for (const e of this.entries(m, work)) {
        const mtu = e.values.mtu ?? (e.flags.has('running') ? '' : (e.values['max-mtu'] ?? ''));
        const name = e.dynamic ? `<${e.values.name}>` : e.values.name;
        out.push({ key: e.values.name, values: { name, type, mtu }, flags: new Set([...e.flags].filter((f) => f !== 'default')), dynamic: e.dynamic });
      }
    }
    return out;
  }

  private rows(menu: Menu, entries: Entry[]): Row[] {
    return entries.map((e, n) => ({ num: n, flags: e.flags, values: e.values, dynamic: e.dynamic && !menu.summary }));
  }

  /** Resolve item references: numbers (from the last print), names, `*id`, `[ find ... ]`. */
  private resolveRefs(menu: Menu, tok: Token, ctx: Ctx): Entry[] {
    const all = this.entries(menu, ctx.work);
    if (tok.bracket) {
      const keys = this.evalFind(menu, tok.value, ctx, all);
      return all.filter((e) => keys.includes(e.key));
    }
    const out: Entry[] = [];
    for (const ref of tok.value.split(',')) {
      let e: Entry | undefined;
      if (/^[0-9]+$/.test(ref)) {
        const numbers = ctx.session.numbers.get(menu.path);
        const key = numbers ? numbers[Number(ref)] : all[Number(ref)]?.key;
        e = key === undefined ? undefined : all.find((x) => x.key === key);
      } else if (/^\*[0-9A-Fa-f]+$/.test(ref)) {
        e = all.find((x) => x.key.toUpperCase() === ref.toUpperCase());
      } else if (menu.keyProp) {
        e = all.find((x) => x.values[menu.keyProp!] === ref);
      }
      e ??= all.find((x) => x.key === ref);
      if (!e) throw err('CONSOLE_ERR_NO_SUCH_ITEM', `no such item (${ref})`);
      if (!out.includes(e)) out.push(e);
    }
    return out;
  }

  private evalFind(menu: Menu, expr: string, ctx: Ctx, all: Entry[]): string[] {
    const toks = tokenize(expr);
    let i = 0;
    if (toks[0]?.value === 'find' && !toks[0].key) i++;
    else if (toks[0]?.value.endsWith('find') && !toks[0].key) i++;
    else throw err('CONSOLE_ERR_SYNTAX', `syntax error: only [ find ... ] is supported inside brackets`);
    if (toks[i]?.value === 'where' && !toks[i].key) i++;
    const conds = toks.slice(i);
    return all
      .filter((e) =>
        conds.every((c) => {
          if (c.key === undefined) return e.flags.has(c.value as FlagName);
          if (c.key === 'default-name') return e.values.name === c.value;
          if (c.key === 'default') return (c.value === 'yes' || c.value === 'true') === e.flags.has('default');
          if (c.key === 'dynamic') return (c.value === 'yes' || c.value === 'true') === e.dynamic;
          const p = this.propFor(menu, c.key, true);
          return e.values[p.name] === c.value;
        }),
      )
      .map((e) => e.key);
  }

  private find(menu: Menu, args: Token[], ctx: Ctx): string[] {
    const expr = ['find', ...args.map((t) => (t.key !== undefined ? `${t.key}=${quote(t.value)}` : t.value))].join(' ');
    return this.evalFind(menu, expr, ctx, this.entries(menu, ctx.work));
  }

  // ---------------------------------------------------------------- properties

  /** Exact name or unambiguous prefix (RouterOS accepts `range=` for `ranges=`). */
  private propFor(menu: Menu, name: string, allowReadOnly = false): Prop {
    const candidates = menu.props.filter((p) => allowReadOnly || !p.readOnly);
    const exact = candidates.find((p) => p.name === name);
    if (exact) return exact;
    const pre = candidates.filter((p) => p.name.startsWith(name));
    if (pre.length === 1 && name.length > 0) return pre[0];
    if (pre.length > 1) throw err('CONSOLE_ERR_AMBIGUOUS', `ambiguous argument ${name}: could be ${pre.map((p) => p.name).join(', ')}`);
    const ro = menu.props.find((p) => p.name === name && p.readOnly);
    if (ro) throw err('CONSOLE_ERR_READ_ONLY', `${name} in ${menu.path} is read-only`);
    throw err('CONSOLE_ERR_UNKNOWN_PROPERTY', `unknown argument ${name} for ${menu.path}; it accepts: ${candidates.map((p) => p.name).join(', ')}`);
  }

  /**
   * Turn argument tokens into property=value pairs. Accepts `key=value` and the old
   * `key value` form (`ip route add dst-address 10.0.0.0/8 gateway 10.0.0.1`).
   * Bare words that are not property names are returned as positional.
   */
  private parseArgs(menu: Menu, args: Token[]): { pairs: [Prop, string, Token][]; positional: Token[] } {
    const pairs: [Prop, string, Token][] = [];
    const positional: Token[] = [];
    for (let i = 0; i < args.length; i++) {
      const t = args[i];
      if (t.key !== undefined) {
        pairs.push([this.propFor(menu, t.key), t.value, t]);
        continue;
      }
      const next = args[i + 1];
      const asProp = !t.quoted && !t.bracket && menu.props.find((p) => p.name === t.value && !p.readOnly);
      if (asProp && next && next.key === undefined && !next.bracket) {
        pairs.push([asProp, next.value, t]);
        i++;
        continue;
      }
      positional.push(t);
    }
    const seen = new Set<string>();
    for (const [p] of pairs) {
      if (seen.has(p.name)) throw err('CONSOLE_ERR_DUPLICATE_ARGUMENT', `argument ${p.name} given more than once`);
      seen.add(p.name);
    }
    return { pairs, positional };
  }

  private parseValue(p: Prop, v: string): string | undefined {
    try {
      return p.type.parse(v, p.name);
    } catch (e) {
      // An empty value clears an optional property.
      if (v === '' && p.default === undefined) return undefined;
      throw e;
    }
  }

  private applyPairs(menu: Menu, item: Item, pairs: [Prop, string, Token][]): void {
    const defs = defaultsOf(menu, item);
    for (const [p, raw] of pairs) {
      const v = this.parseValue(p, raw);
      if (v === undefined || v === defs[p.name]) delete item.values[p.name];
      else item.values[p.name] = v;
    }
  }

  private logText(menu: Menu, verb: string, target: string, pairs: [Prop, string, Token][]): string {
    const args = pairs.map(([p, v]) => `${p.name}=${p.secret ? '***' : quote(v)}`).join(' ');
    return `${menu.path} ${verb}${target ? ' ' + target : ''}${args ? ' ' + args : ''}`;
  }

  // ---------------------------------------------------------------- commands

  private print(menu: Menu, args: Token[], ctx: Ctx): string {
    let detail = false;
    let countOnly = false;
    const where: Token[] = [];
    let inWhere = false;
    for (const a of args) {
      if (inWhere) { where.push(a); continue; }
      if (a.key === undefined && a.value === 'detail') detail = true;
      else if (a.key === undefined && a.value === 'count-only') countOnly = true;
      else if (a.key === undefined && ['brief', 'terse', 'without-paging', 'once', 'value-list'].includes(a.value)) { if (a.value === 'terse' || a.value === 'value-list') detail = true; }
      else if (a.key === undefined && a.value === 'where') inWhere = true;
      else if (a.key === 'interval' || a.key === 'file') { /* accepted, ignored */ }
      else throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key ?? a.value} for print; print accepts: detail, count-only, brief, terse, where ...`);
    }
    if (menu.kind === 'single') {
      const values = makeView(ctx.work).single(menu.path);
      return printKeyValues(singlePairs(menu, values).map(([k, v]) => [k, v]));
    }
    let all = this.entries(menu, ctx.work);
    if (where.length) {
      const keys = this.evalFind(menu, ['find', ...where.map((t) => (t.key !== undefined ? `${t.key}=${quote(t.value)}` : t.value))].join(' '), ctx, all);
      all = all.filter((e) => keys.includes(e.key));
    }
    if (countOnly) return `${all.length}\n`;
    ctx.session.numbers.set(menu.path, all.map((e) => e.key));
    const rows = this.rows(menu, all);
    if (detail || menu.printStyle === 'detail') {
      // print detail shows every property, read-only ones included.
      return printDetail(menu, rows);
    }
    return printTable(menu, rows);
  }

  private add(menu: Menu, args: Token[], ctx: Ctx): string {
    if (menu.kind !== 'list' || menu.linux || menu.dynamicOnly) throw err('CONSOLE_ERR_BAD_COMMAND', `cannot add to ${menu.path}`);
    const { pairs, positional } = this.parseArgs(menu, args);
    if (positional.length) throw err('CONSOLE_ERR_BAD_ARGUMENT', `expected end of command: unexpected ${positional[0].value} (line 1 column ${positional[0].col})`);
    const l = ctx.work.lists[menu.path];
    const item: Item = { id: l.nextId, values: {} };
    this.applyPairs(menu, item, pairs);
    const eff = effective(menu, item);
    if (menu.autoName && eff.name === undefined) {
      const used = this.allInterfaceNames(ctx.work);
      let n = 1;
      while (used.has(`${menu.autoName}${n}`)) n++;
      item.values.name = `${menu.autoName}${n}`;
    }
    for (const p of menu.props) {
      if (p.required && effective(menu, item)[p.name] === undefined) throw err('CONSOLE_ERR_MISSING_ARGUMENT', `failure: ${p.name} must be set (${p.type.accepts})`);
    }
    this.checkLinuxName(menu, item);
    l.items.push(item);
    l.nextId++;
    ctx.changed.add(menu.path);
    ctx.ret = idText(item.id);
    ctx.logged.push(this.logText(menu, 'add', '', pairs));
    return '';
  }

  /** A tunnel interface may not take the name of a Linux interface. */
  private checkLinuxName(menu: Menu, item: Item): void {
    if (!INTERFACE_MENUS.includes(menu.path) || item.values.name === undefined) return;
    if (this.opts.host.listEthernet().some((e) => e.name === item.values.name)) {
      throw err('CONFIG_ERR_DUPLICATE', `failure: interface named ${item.values.name} already exists (a Linux interface)`);
    }
  }

  private allInterfaceNames(work: ConfigData): Set<string> {
    const s = new Set<string>();
    for (const p of INTERFACE_MENUS) for (const it of work.lists[p]?.items ?? []) if (it.values.name) s.add(it.values.name);
    for (const e of this.opts.host.listEthernet()) s.add(e.name);
    return s;
  }

  private set(menu: Menu, args: Token[], ctx: Ctx): string {
    const { pairs, positional } = this.parseArgs(menu, args);
    if (menu.kind === 'single') {
      if (positional.length) throw err('CONSOLE_ERR_BAD_ARGUMENT', `expected end of command: unexpected ${positional[0].value} (line 1 column ${positional[0].col})`);
      if (!pairs.length) throw err('CONSOLE_ERR_MISSING_ARGUMENT', `set: no property given; ${menu.path} has: ${menu.props.map((p) => p.name).join(', ')}`);
      const vals = ctx.work.singles[menu.path];
      for (const [p, raw] of pairs) {
        const v = this.parseValue(p, raw);
        if (v === undefined || v === p.default) delete vals[p.name];
        else vals[p.name] = v;
      }
      ctx.changed.add(menu.path);
      ctx.logged.push(this.logText(menu, 'set', '', pairs));
      return '';
    }
    if (positional.length !== 1) {
      if (positional.length === 0) throw err('CONSOLE_ERR_MISSING_ARGUMENT', `set: which item? give a number from print, a name or [ find ... ]`);
      throw err('CONSOLE_ERR_BAD_ARGUMENT', `expected end of command: unexpected ${positional[1].value} (line 1 column ${positional[1].col})`);
    }
    if (!pairs.length) throw err('CONSOLE_ERR_MISSING_ARGUMENT', `set: no property given`);
    if (menu.linux) return this.setLinux(menu, positional[0], pairs, ctx);
    const targets = this.resolveRefs(menu, positional[0], ctx);
    for (const e of targets) {
      if (!e.item) throw err('CONSOLE_ERR_DYNAMIC', `cannot change dynamic entry ${e.values.name ?? e.key}`);
      if (e.item.builtin && pairs.some(([p]) => p.name === 'name')) throw err('CONSOLE_ERR_BUILTIN', `cannot rename built-in ${e.item.builtin}`);
      this.applyPairs(menu, e.item, pairs);
      if (pairs.some(([p]) => p.name === 'name')) this.checkLinuxName(menu, e.item);
    }
    ctx.changed.add(menu.path);
    ctx.logged.push(this.logText(menu, 'set', positional[0].value, pairs));
    return '';
  }

  private setLinux(menu: Menu, ref: Token, pairs: [Prop, string, Token][], ctx: Ctx): string {
    let names: string[];
    if (ref.bracket || /^[0-9,]+$/.test(ref.value)) names = this.resolveRefs(menu, ref, ctx).map((e) => e.key);
    else names = ref.value.split(',').map((n) => menu.props[0].type.parse(n, 'name'));
    const l = ctx.work.lists[menu.path];
    for (const name of names) {
      if (pairs.some(([p]) => p.name === 'name')) throw err('CONSOLE_ERR_READ_ONLY', `cannot rename Linux interface ${name}`);
      let it = l.items.find((x) => x.values.name === name);
      if (!it) {
        it = { id: l.nextId++, values: { name } };
        l.items.push(it);
      }
      this.applyPairs(menu, it, pairs);
      it.values.name = name;
      const arp = it.values.arp ?? 'enabled';
      if (pairs.some(([p]) => p.name === 'arp')) ctx.effects.push(() => this.opts.host.setArp(name, arp));
      if (Object.keys(it.values).length === 1) l.items = l.items.filter((x) => x !== it);
    }
    ctx.changed.add(menu.path);
    ctx.logged.push(this.logText(menu, 'set', ref.value, pairs));
    return '';
  }

  private unset(menu: Menu, args: Token[], ctx: Ctx): string {
    const names: string[] = [];
    const refs: Token[] = [];
    for (const a of args) {
      if (a.key === 'value-name') names.push(...a.value.split(','));
      else if (a.key === undefined && menu.props.some((p) => p.name === a.value) && (refs.length > 0 || menu.kind === 'single')) names.push(a.value);
      else if (a.key === undefined) refs.push(a);
      else throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key} for unset; use value-name=PROPERTY`);
    }
    if (!names.length) throw err('CONSOLE_ERR_MISSING_ARGUMENT', 'unset: which property? give value-name=PROPERTY');
    const props = names.map((n) => this.propFor(menu, n));
    if (menu.kind === 'single') {
      for (const p of props) delete ctx.work.singles[menu.path][p.name];
    } else {
      if (refs.length !== 1) throw err('CONSOLE_ERR_MISSING_ARGUMENT', 'unset: which item?');
      for (const e of this.resolveRefs(menu, refs[0], ctx)) {
        if (!e.item) throw err('CONSOLE_ERR_DYNAMIC', `cannot change dynamic entry ${e.values.name ?? e.key}`);
        for (const p of props) {
          if (p.required || p.name === 'name') throw err('CONSOLE_ERR_REQUIRED', `cannot unset ${p.name}: it is required`);
          delete e.item.values[p.name];
        }
      }
    }
    ctx.changed.add(menu.path);
    ctx.logged.push(`${menu.path} unset ${names.join(',')}`);
    return '';
  }

  private remove(menu: Menu, args: Token[], ctx: Ctx): string {
    if (args.length !== 1 || args[0].key !== undefined) throw err('CONSOLE_ERR_MISSING_ARGUMENT', 'remove: which item? give a number from print, a name or [ find ... ]');
    const targets = this.resolveRefs(menu, args[0], ctx);
    const l = ctx.work.lists[menu.path];
    for (const e of targets) {
      if (e.dynamic) {
        if (menu.dynamicOnly || menu.autoName) {
          ctx.effects.push(async () => { this.opts.runtimes.removeDynamic(menu.path, e.key); });
          continue;
        }
        throw err('CONSOLE_ERR_DYNAMIC', `cannot remove dynamic entry ${e.values.name ?? e.key}`);
      }
      if (!e.item || !l) throw err('CONSOLE_ERR_NO_SUCH_ITEM', 'no such item');
      if (e.item.builtin) throw err('CONSOLE_ERR_BUILTIN', `cannot remove built-in ${e.item.builtin}`);
      l.items = l.items.filter((x) => x !== e.item);
    }
    if (l) ctx.changed.add(menu.path);
    ctx.logged.push(`${menu.path} remove ${args[0].value}`);
    return '';
  }

  private enableDisable(menu: Menu, args: Token[], ctx: Ctx, disable: boolean): string {
    if (args.length !== 1 || args[0].key !== undefined) throw err('CONSOLE_ERR_MISSING_ARGUMENT', `${disable ? 'disable' : 'enable'}: which item?`);
    const p = this.propFor(menu, 'disabled');
    for (const e of this.resolveRefs(menu, args[0], ctx)) {
      if (!e.item) throw err('CONSOLE_ERR_DYNAMIC', `cannot change dynamic entry ${e.values.name ?? e.key}`);
      this.applyPairs(menu, e.item, [[p, disable ? 'yes' : 'no', args[0]]]);
    }
    ctx.changed.add(menu.path);
    ctx.logged.push(`${menu.path} ${disable ? 'disable' : 'enable'} ${args[0].value}`);
    return '';
  }

  private comment(menu: Menu, args: Token[], ctx: Ctx): string {
    let text: string | undefined;
    const refs: Token[] = [];
    for (const a of args) {
      if (a.key === 'comment') text = a.value;
      else if (a.key === undefined && refs.length === 0 && !a.quoted) refs.push(a);
      else if (a.key === undefined && text === undefined) text = a.value;
      else throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key ?? a.value} for comment`);
    }
    if (refs.length !== 1 || text === undefined) throw err('CONSOLE_ERR_MISSING_ARGUMENT', 'comment: usage: comment ITEM comment="text"');
    const p = this.propFor(menu, 'comment');
    if (menu.linux) return this.setLinux(menu, refs[0], [[p, text, refs[0]]], ctx);
    for (const e of this.resolveRefs(menu, refs[0], ctx)) {
      if (!e.item) throw err('CONSOLE_ERR_DYNAMIC', `cannot change dynamic entry ${e.values.name ?? e.key}`);
      this.applyPairs(menu, e.item, [[p, text, refs[0]]]);
    }
    ctx.changed.add(menu.path);
    ctx.logged.push(`${menu.path} comment ${refs[0].value}`);
    return '';
  }

  private monitor(menu: Menu, args: Token[], ctx: Ctx): string {
    const refs = args.filter((a) => a.key === undefined && a.value !== 'once');
    for (const a of args) if (a.key !== undefined && a.key !== 'interval' && a.key !== 'once') throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key} for monitor`);
    if (refs.length !== 1) throw err('CONSOLE_ERR_MISSING_ARGUMENT', 'monitor: which item?');
    const targets = this.resolveRefs(menu, refs[0], ctx);
    let out = '';
    for (const e of targets) {
      const item = e.dyn ?? { id: e.key, values: e.values };
      const m = this.opts.runtimes.monitor(menu.path, item);
      const data: Record<string, string> = m ? { ...m } : { status: 'terminated' } /* seed: "terminated - interface is not enabled or the other side will not establish a connection" */;
      const pairs: [string, string][] = [];
      for (const k of menu.monitor ?? []) {
        if (data[k] === undefined) continue;
        pairs.push([k, k === 'status' || k === 'encoding' ? quote(data[k], true) : data[k]]);
      }
      out += printKeyValues(pairs);
    }
    return out;
  }

  // ---------------------------------------------------------------- export / import / reset

  exportText(work: ConfigData, only?: string, hideSensitive = false): string {
    let out = only ? '' : '# culvert configuration export\n';
    for (const m of MENUS) {
      if (m.dynamicOnly || m.summary) continue;
      if (only && m.path !== only && !m.path.startsWith(only + ' ')) continue;
      const lines: string[] = [];
      const strip = (v: Record<string, string>) => {
        if (!hideSensitive) return v;
        const c = { ...v };
        for (const p of m.props) if (p.secret) delete c[p.name];
        return c;
      };
      if (m.kind === 'single') {
        const v = strip(work.singles[m.path] ?? {});
        if (Object.keys(v).length) lines.push(`set ${exportArgs(m, v)}`);
      } else {
        for (const it of work.lists[m.path]?.items ?? []) {
          const v = strip(it.values);
          if (it.builtin) {
            if (Object.keys(v).length) lines.push(`set [ find name=${quote(it.builtin)} ] ${exportArgs(m, v)}`);
          } else if (m.linux) {
            const { name, ...rest } = v;
            if (Object.keys(rest).length) lines.push(`set ${quote(name)} ${exportArgs(m, rest)}`);
          } else {
            lines.push(`add ${exportArgs(m, v)}`);
          }
        }
      }
      if (lines.length) out += `${m.path}\n${lines.join('\n')}\n`;
    }
    return out;
  }

  private exportAll(args: Token[], ctx: Ctx, path: string): string {
    let file: string | undefined;
    let hide = false;
    for (const a of args) {
      if (a.key === 'file') file = a.value;
      else if (a.key === undefined && a.value === 'hide-sensitive') hide = true;
      else if (a.key === undefined && (a.value === 'compact' || a.value === 'terse' || a.value === 'verbose')) continue;
      else throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key ?? a.value} for export; accepts file=NAME, hide-sensitive`);
    }
    const text = this.exportText(ctx.work, path === '/' ? undefined : path, hide);
    if (file !== undefined) {
      this.opts.writeFile(file.endsWith('.rsc') ? file : file + '.rsc', text);
      return '';
    }
    return text;
  }

  private async rootCommand(cmd: string, args: Token[], ctx: Ctx): Promise<string> {
    if (cmd === 'export') return this.exportAll(args, ctx, '/');
    if (cmd === 'quit') return '';
    if (cmd === 'ping') {
      let addr: string | undefined;
      let count = 3;
      for (const a of args) {
        if (a.key === 'count') count = Number(a.value);
        else if (a.key === 'address' || a.key === undefined) addr = a.value;
        else throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key} for ping`);
      }
      if (!addr || !isIPv4(addr)) throw err('CONSOLE_ERR_BAD_ARGUMENT', 'invalid value for argument address: must be an IPv4 address');
      if (!Number.isInteger(count) || count < 1 || count > 100) throw err('CONFIG_ERR_INVALID_VALUE', 'invalid value for argument count: must be 1..100');
      return this.opts.host.ping(addr, count);
    }
    // import
    let file: string | undefined;
    for (const a of args) {
      if (a.key === 'file' || a.key === 'file-name' || a.key === undefined) file = a.value;
      else if (a.key === 'verbose') continue;
      else throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key} for import; use file=NAME`);
    }
    if (!file) throw err('CONSOLE_ERR_MISSING_ARGUMENT', 'import: give file=NAME');
    if (ctx.importDepth > 4) throw err('CONSOLE_ERR_IMPORT', 'import: nested too deep');
    let text: string;
    try {
      text = this.opts.readFile(file);
    } catch (e) {
      if (e instanceof CulvertError) throw e;
      try {
        text = this.opts.readFile(file + '.rsc');
      } catch {
        throw err('CONSOLE_ERR_IMPORT', `import: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    const saved = ctx.session.cwd;
    ctx.session.cwd = '/';
    ctx.importDepth++;
    let out = '';
    const physical = text.split('\n');
    for (let n = 0; n < physical.length; n++) {
      let line = physical[n];
      const startLine = n + 1;
      while (/\\\r?$/.test(line) && n + 1 < physical.length) line = line.replace(/\\\r?$/, '') + physical[++n];
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      try {
        for (const c of splitCommands(line)) out += await this.exec(c, ctx);
        // Check references line by line so an error names its line (next-pool may point forward).
        this.validateAll(ctx.work, true);
      } catch (e) {
        const code = e instanceof CulvertError ? e.code : 'CONSOLE_ERR_IMPORT';
        throw new ConfigError(code, `import ${file} failed at line ${startLine}: ${(e as Error).message}; nothing was changed`);
      }
    }
    ctx.importDepth--;
    ctx.session.cwd = saved;
    ctx.changed.add('*');
    return out;
  }

  private reset(args: Token[], ctx: Ctx): string {
    for (const a of args) {
      if (a.key === 'no-defaults' || a.key === 'skip-backup' || a.key === 'keep-users') continue;
      throw err('CONSOLE_ERR_BAD_ARGUMENT', `bad argument ${a.key ?? a.value} for reset-configuration`);
    }
    const fresh = emptyConfig();
    // Linux interfaces whose ARP mode culvert changed go back to plain ARP.
    for (const it of ctx.work.lists['/interface ethernet']?.items ?? []) {
      if (it.values.arp && it.values.arp !== 'enabled') {
        const name = it.values.name;
        ctx.effects.push(() => this.opts.host.setArp(name, 'enabled'));
      }
    }
    ctx.work.lists = fresh.lists;
    ctx.work.singles = fresh.singles;
    for (const m of MENUS) ctx.changed.add(m.path);
    ctx.changed.add('*');
    ctx.logged.push('/system reset-configuration');
    return '';
  }

  // ---------------------------------------------------------------- integrity

  /** Cross-menu rules checked before any commit: references resolve, names are unique. */
  validateAll(work: ConfigData, allowForward = false): void {
    const profiles = new Set((work.lists['/ppp profile']?.items ?? []).map((it) => effective(menuByPath('/ppp profile')!, it).name));
    const pools = new Set((work.lists['/ip pool']?.items ?? []).map((it) => it.values.name));
    const check = (m: Menu, values: Record<string, string>, where: string) => {
      for (const p of m.props) {
        const v = values[p.name];
        if (v === undefined || !p.ref) continue;
        if (p.ref === '/ppp profile' && !profiles.has(v)) throw err('CONFIG_ERR_INVALID_VALUE', `invalid value for argument ${p.name}: no /ppp profile named ${v}${where}`);
        if (p.ref === '/ip pool' && !pools.has(v) && !allowForward) throw err('CONFIG_ERR_INVALID_VALUE', `invalid value for argument ${p.name}: no /ip pool named ${v}${where}`);
        if (p.ref === 'pool-or-ip' && !isIPv4(v) && !pools.has(v)) throw err('CONFIG_ERR_INVALID_VALUE', `invalid value for argument ${p.name}: must be an IPv4 address or the name of an /ip pool (no pool named ${v})${where}`);
      }
    };
    const ifNames = new Map<string, string>();
    for (const m of MENUS) {
      if (m.kind === 'single') {
        check(m, work.singles[m.path] ?? {}, ` (used by ${m.path})`);
        continue;
      }
      const l = work.lists[m.path];
      if (!l) continue;
      const seen = new Map<string, string>();
      for (const it of l.items) {
        const v = effective(m, it);
        check(m, v, '');
        for (const u of m.unique ?? []) {
          const key = `${u}=${v[u]}`;
          if (v[u] !== undefined && seen.has(key)) throw err('CONFIG_ERR_DUPLICATE', `failure: an item with ${u} ${v[u]} already exists in ${m.path}`);
          seen.set(key, '');
        }
        if (INTERFACE_MENUS.includes(m.path) && v.name !== undefined) {
          const other = ifNames.get(v.name);
          if (other !== undefined) throw err('CONFIG_ERR_DUPLICATE', `failure: interface named ${v.name} already exists in ${other}`);
          ifNames.set(v.name, m.path);
        }
      }
      if (m.path === '/ip pool') {
        for (const it of l.items) {
          const np = it.values['next-pool'];
          if (np === it.values.name) throw err('CONFIG_ERR_INVALID_VALUE', `invalid value for argument next-pool: a pool cannot be its own next-pool`);
        }
      }
    }
  }

  // ---------------------------------------------------------------- REST / completion helpers

  /** Rows of a menu as plain objects with `.id` (REST GET). */
  restList(path: string): Record<string, string>[] {
    const menu = menuByPath(path);
    if (!menu) throw err('CONSOLE_ERR_NO_SUCH_MENU', `no such menu ${path}`);
    if (menu.kind === 'single') return [makeView(this.data).single(path)];
    return this.entries(menu, this.data).map((e) => {
      const o: Record<string, string> = { '.id': e.key };
      for (const p of menu.props) if (e.values[p.name] !== undefined) o[p.name] = e.values[p.name];
      if (menu.flags.some((f) => f.is === 'dynamic')) o.dynamic = e.dynamic ? 'yes' : 'no';
      if (menu.flags.some((f) => f.is === 'running')) o.running = e.flags.has('running') ? 'yes' : 'no';
      if (menu.flags.some((f) => f.is === 'default')) o.default = e.flags.has('default') ? 'yes' : 'no';
      return o;
    });
  }

  /** Candidates for the last word of `line` typed at `cwd` (tab completion). */
  complete(line: string, cwd: string): string[] {
    const words = line.split(/\s+/);
    const last = words.pop() ?? '';
    let path = cwd;
    let i = 0;
    if (words[0]?.startsWith('/')) { path = '/'; words[0] = words[0].slice(1); if (words[0] === '') i = 1; }
    let lastIsPathStart = false;
    if (words.length === 0 && last.startsWith('/')) { path = '/'; lastIsPathStart = true; }
    for (; i < words.length; i++) {
      const w = words[i];
      if (w === '..') { path = parentPath(path); continue; }
      const cand = joinPath(path, w);
      if (DIRECTORIES.has(cand)) { path = cand; continue; }
      break;
    }
    const partial = lastIsPathStart ? last.slice(1) : last;
    const pre = lastIsPathStart ? '/' : '';
    const menu = menuByPath(path);
    if (i >= words.length) {
      const subs = [...DIRECTORIES].filter((d) => d !== path && parentPath(d) === path && d !== '/').map((d) => d.slice(path === '/' ? 1 : path.length + 1));
      const cmds = menu ? ['print', ...menu.commands] : path === '/' ? ROOT_COMMANDS : path === '/system' ? ['reset-configuration'] : ['export'];
      return [...new Set([...subs, ...cmds])].filter((c) => c.startsWith(partial)).sort().map((c) => pre + c);
    }
    if (!menu) return [];
    const cmd = words[i];
    const eq = last.indexOf('=');
    if (eq >= 0) {
      const p = menu.props.find((x) => x.name === last.slice(0, eq));
      const choices = p?.type.choices ?? (p?.ref === '/ppp profile' ? this.restList('/ppp profile').map((r) => r.name) : []);
      return choices.filter((c) => c.startsWith(last.slice(eq + 1))).map((c) => `${last.slice(0, eq)}=${c}`);
    }
    if (cmd === 'print') return ['detail', 'count-only', 'brief', 'terse', 'where'].filter((c) => c.startsWith(last));
    const names = menu.props.filter((p) => !p.readOnly).map((p) => p.name + '=');
    const items = menu.keyProp ? this.restList(menu.path).map((r) => r[menu.keyProp!]).filter((x) => x !== undefined) : [];
    return [...new Set([...names, ...(cmd === 'add' ? [] : items)])].filter((c) => c.startsWith(last)).sort();
  }
}
