/**
 * The configuration data: for each list menu its items (values hold only what the user
 * set; defaults come from the schema), for each single menu its overrides. Plain JSON so
 * a command can work on a structuredClone and be thrown away if it fails.
 */
import { ConfigError } from '../errors.js';
import { MENUS, menuByPath, type Menu } from './schema.js';
import type { ConfigView, ItemView } from './runtime.js';

export interface Item {
  id: number;
  /** Name of the built-in this item is (profile `default`), if any. */
  builtin?: string;
  values: Record<string, string>;
}

export interface ListData {
  nextId: number;
  items: Item[];
}

export interface ConfigData {
  lists: Record<string, ListData>;
  singles: Record<string, Record<string, string>>;
}

export function emptyConfig(): ConfigData {
  const cfg: ConfigData = { lists: {}, singles: {} };
  for (const m of MENUS) {
    if (m.dynamicOnly || m.summary) continue;
    if (m.kind === 'single') cfg.singles[m.path] = {};
    else {
      const l: ListData = { nextId: 1, items: [] };
      for (const b of m.builtins ?? []) l.items.push({ id: l.nextId++, builtin: b.name, values: {} });
      cfg.lists[m.path] = l;
    }
  }
  return cfg;
}

export function idText(id: number): string {
  return '*' + id.toString(16).toUpperCase();
}

/** Defaults for an item: schema defaults, then the built-in's own values. */
export function defaultsOf(menu: Menu, item?: Item): Record<string, string> {
  const d: Record<string, string> = {};
  for (const p of menu.props) if (p.default !== undefined) d[p.name] = p.default;
  if (item?.builtin) {
    const b = menu.builtins?.find((x) => x.name === item.builtin);
    if (b) Object.assign(d, b);
  }
  return d;
}

export function effective(menu: Menu, item: Item): Record<string, string> {
  return { ...defaultsOf(menu, item), ...item.values };
}

/** Item lists of committed configurations, built once per (configuration, menu). */
const listCache = new WeakMap<ConfigData, Map<string, ItemView[]>>();

/**
 * A read-only view of `cfg`. `frozen`: the caller promises `cfg` is a committed
 * configuration that nothing mutates any more (the engine replaces it on every change),
 * so item lists are built once and shared: a subscriber's login then looks through the
 * secrets without rebuilding 1,000 records first. Callers must not modify what list returns.
 */
export function makeView(cfg: ConfigData, o: { frozen?: boolean } = {}): ConfigView {
  const build = (path: string): ItemView[] => {
    const m = menuByPath(path);
    const l = cfg.lists[path];
    if (!m || !l) return [];
    return l.items.map((it) => ({ id: idText(it.id), values: effective(m, it) }));
  };
  return {
    list(path: string): ItemView[] {
      if (!o.frozen) return build(path);
      let c = listCache.get(cfg);
      if (!c) listCache.set(cfg, (c = new Map()));
      let r = c.get(path);
      if (!r) c.set(path, (r = build(path)));
      return r;
    },
    single(path: string): Record<string, string> {
      const m = menuByPath(path);
      if (!m || m.kind !== 'single') return {};
      return { ...defaultsOf(m), ...(cfg.singles[path] ?? {}) };
    },
  };
}

/**
 * Store format: one JSON record per line, so a corrupt store can be reported by line.
 * Line 1 is a header; then `{"single":path,"values":{}}`, `{"list":path,"nextId":n}`
 * and `{"item":path,"id":n,"builtin"?:name,"values":{}}`.
 */
export function serialize(cfg: ConfigData): string {
  const lines = [JSON.stringify({ culvert: 1 })];
  for (const m of MENUS) {
    if (m.kind === 'single' && cfg.singles[m.path]) lines.push(JSON.stringify({ single: m.path, values: cfg.singles[m.path] }));
    const l = cfg.lists[m.path];
    if (m.kind === 'list' && l) {
      lines.push(JSON.stringify({ list: m.path, nextId: l.nextId }));
      for (const it of l.items) {
        const rec: Record<string, unknown> = { item: m.path, id: it.id };
        if (it.builtin) rec.builtin = it.builtin;
        rec.values = it.values;
        lines.push(JSON.stringify(rec));
      }
    }
  }
  return lines.join('\n') + '\n';
}

function corrupt(file: string, line: number, why: string): ConfigError {
  return new ConfigError('CONFIG_ERR_CORRUPT_STORE', `corrupt configuration store ${file} line ${line}: ${why}`);
}

function checkValues(file: string, ln: number, m: Menu, values: unknown): Record<string, string> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw corrupt(file, ln, 'values is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
    const p = m.props.find((x) => x.name === k);
    if (!p || p.readOnly) throw corrupt(file, ln, `unknown property ${k} in ${m.path}`);
    if (typeof v !== 'string') throw corrupt(file, ln, `property ${k} is not a string`);
    try {
      out[k] = p.type.parse(v, k);
    } catch (e) {
      throw corrupt(file, ln, (e as Error).message);
    }
  }
  return out;
}

/** Parse a store file; throws ConfigError CONFIG_ERR_CORRUPT_STORE naming file and line. */
export function deserialize(text: string, file: string): ConfigData {
  const cfg = emptyConfig();
  for (const l of Object.values(cfg.lists)) l.items = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw corrupt(file, 1, 'empty file');
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(lines[i]);
    } catch (e) {
      throw corrupt(file, ln, `not valid JSON (${(e as Error).message})`);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw corrupt(file, ln, 'not a JSON object');
    if (i === 0) {
      if (rec.culvert !== 1) throw corrupt(file, ln, 'missing header {"culvert":1}');
      continue;
    }
    if (typeof rec.single === 'string') {
      const m = menuByPath(rec.single);
      if (!m || m.kind !== 'single') throw corrupt(file, ln, `unknown menu ${rec.single}`);
      cfg.singles[m.path] = checkValues(file, ln, m, rec.values);
    } else if (typeof rec.list === 'string') {
      const m = menuByPath(rec.list);
      if (!m || !cfg.lists[m.path]) throw corrupt(file, ln, `unknown menu ${rec.list}`);
      if (!Number.isSafeInteger(rec.nextId) || (rec.nextId as number) < 1) throw corrupt(file, ln, 'bad nextId');
      cfg.lists[m.path].nextId = rec.nextId as number;
    } else if (typeof rec.item === 'string') {
      const m = menuByPath(rec.item);
      const l = m && cfg.lists[m.path];
      if (!m || !l) throw corrupt(file, ln, `unknown menu ${rec.item}`);
      if (!Number.isSafeInteger(rec.id) || (rec.id as number) < 1 || (rec.id as number) >= l.nextId) throw corrupt(file, ln, 'bad item id');
      const key = `${m.path}#${rec.id}`;
      if (seen.has(key)) throw corrupt(file, ln, `duplicate item id ${rec.id}`);
      seen.add(key);
      const it: Item = { id: rec.id as number, values: checkValues(file, ln, m, rec.values) };
      if (rec.builtin !== undefined) {
        if (typeof rec.builtin !== 'string' || !m.builtins?.some((b) => b.name === rec.builtin)) throw corrupt(file, ln, 'unknown built-in');
        it.builtin = rec.builtin;
      }
      l.items.push(it);
    } else {
      throw corrupt(file, ln, 'unknown record');
    }
  }
  // Built-ins must exist even if a store predates them.
  for (const m of MENUS) {
    const l = cfg.lists[m.path];
    if (!l || !m.builtins) continue;
    for (const b of m.builtins) {
      if (!l.items.some((it) => it.builtin === b.name)) l.items.unshift({ id: l.nextId++, builtin: b.name, values: {} });
    }
  }
  return cfg;
}
