/**
 * Schema-driven console output in the seeds' layout: the Flags line, numbered rows with
 * fixed flag columns, `print detail` key=value wrapped at 80 columns, tables with the
 * menu's columns, `key: value` blocks for single menus and `monitor`, and export lines.
 */
import { quote } from './parser.js';
import type { FlagName, Menu, Prop } from './schema.js';

export interface Row {
  num: number;
  flags: ReadonlySet<FlagName>;
  values: Readonly<Record<string, string>>;
  dynamic: boolean;
}

const WIDTH = 80;

export function flagsLine(menu: Menu): string {
  return menu.flags.length ? `Flags: ${menu.flags.map((f) => `${f.letter} - ${f.meaning}`).join(', ')}\n` : '';
}

function flagField(menu: Menu, flags: ReadonlySet<FlagName>): string {
  return menu.flags.map((f) => (flags.has(f.is) ? f.letter : ' ')).join('');
}

export function formatValue(p: Prop | undefined, v: string): string {
  return p?.type.quoted ? quote(v, true) : quote(v);
}

function shownName(menu: Menu, row: Row): string {
  const n = row.values.name ?? '';
  return row.dynamic && menu.autoName ? `<${n}>` : n;
}

/** Which key=value pairs `print detail` shows for a row, in schema order. */
export function detailPairs(menu: Menu, row: Row): string[] {
  const out: string[] = [];
  for (const p of menu.props) {
    if (p.notPrinted) continue;
    const v = row.values[p.name];
    if (v === undefined) continue;
    if (p.hideIfDefault && v === p.default) continue;
    const shown = p.name === 'name' ? shownName(menu, row) : v;
    out.push(`${p.name}=${formatValue(p, shown)}`);
  }
  return out;
}

function wrap(prefix: string, indent: string, words: string[]): string {
  let out = '';
  let line = prefix;
  let empty = true;
  for (const w of words) {
    if (!empty && line.length + 1 + w.length > WIDTH) {
      out += line.trimEnd() + '\n';
      line = indent + w;
    } else {
      line += (empty ? '' : ' ') + w;
    }
    empty = false;
  }
  return out + line.trimEnd() + '\n';
}

function rowPrefix(menu: Menu, row: Row): { prefix: string; indent: string } {
  const prefix = String(row.num).padStart(3) + ' ' + (menu.flags.length ? flagField(menu, row.flags) + ' ' : '');
  return { prefix, indent: ' '.repeat(prefix.length) };
}

function commentLine(indent: string, row: Row): string {
  const c = row.values.comment;
  return c ? `${indent};;; ${c}\n` : '';
}

export function printDetail(menu: Menu, rows: readonly Row[]): string {
  let out = flagsLine(menu);
  for (const row of rows) {
    const { prefix, indent } = rowPrefix(menu, row);
    out += commentLine(indent, row);
    out += wrap(prefix, indent, detailPairs(menu, row));
  }
  return out;
}

export function printTable(menu: Menu, rows: readonly Row[]): string {
  const cols = menu.columns ?? [];
  let out = flagsLine(menu);
  const head = '  #' + ' ' + (menu.flags.length ? ' '.repeat(menu.flags.length) + ' ' : '');
  out += (head + cols.map((c) => (c.width ? c.title.padEnd(c.width) + ' ' : c.title)).join('')).trimEnd() + '\n';
  for (const row of rows) {
    const { prefix, indent } = rowPrefix(menu, row);
    out += commentLine(indent, row);
    const cells = cols.map((c) => {
      const v = c.prop === 'name' ? shownName(menu, row) : (row.values[c.prop] ?? '');
      return c.width ? v.padEnd(c.width) + ' ' : v;
    });
    out += (prefix + cells.join('')).trimEnd() + '\n';
  }
  return out;
}

/** `key: value` block, keys right-aligned (server settings, /ppp aaa, monitor). */
export function printKeyValues(pairs: readonly [string, string][]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length)) + 2;
  return pairs.map(([k, v]) => `${k.padStart(w)}: ${v}`.trimEnd() + '\n').join('');
}

export function singlePairs(menu: Menu, values: Readonly<Record<string, string>>): [string, string][] {
  const out: [string, string][] = [];
  for (const p of menu.props) {
    const v = values[p.name];
    if (v === undefined) continue;
    if (p.hideIfDefault && v === p.default) continue;
    out.push([p.name, v]);
  }
  return out;
}

/** One `add`/`set` line of an export: the given values in schema order. */
export function exportArgs(menu: Menu, values: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const p of menu.props) {
    const v = values[p.name];
    if (v === undefined || p.readOnly) continue;
    parts.push(`${p.name}=${quote(v)}`);
  }
  return parts.join(' ');
}
