/**
 * RouterOS console line syntax: words, `key=value`, double-quoted strings with backslash
 * escapes, `[ find ... ]` sub-expressions, `\` + newline continuations, `;` between
 * commands, `/` for the root menu and `..` for the parent. Pure: no schema knowledge
 * beyond what it is handed, and it only ever throws ConfigError.
 */
import { ConfigError } from '../errors.js';

export interface Token {
  /** For `key=value` the key; undefined for a bare word. */
  key?: string;
  /** The (unquoted, unescaped) value, or the bare word. */
  value: string;
  /** Was the value written in double quotes? (a quoted word is never a menu or command name) */
  quoted: boolean;
  /** `[ ... ]` sub-expression: value holds the inner text. */
  bracket?: boolean;
  /** 1-based column where the token started. */
  col: number;
}

/** Longest line we accept: a console line, not a file. */
export const MAX_LINE = 65536;

function syntax(msg: string, col: number): ConfigError {
  return new ConfigError('CONSOLE_ERR_SYNTAX', `syntax error: ${msg} (line 1 column ${col})`);
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t', $: '$', '?': '?', _: ' ', a: '\x07', b: '\b', f: '\f', v: '\v' };

/** Read a quoted string starting at s[i] === '"'. Returns the value and the index after the closing quote. */
function readQuoted(s: string, i: number): { value: string; end: number } {
  let out = '';
  let j = i + 1;
  for (;;) {
    if (j >= s.length) throw syntax('unterminated quoted string', i + 1);
    const c = s[j];
    if (c === '"') return { value: out, end: j + 1 };
    if (c === '\\') {
      const n = s[j + 1];
      if (n === undefined) throw syntax('unterminated quoted string', i + 1);
      if (n === '\n') { j += 2; continue; }
      if (n in ESCAPES) { out += ESCAPES[n]; j += 2; continue; }
      const hex = s.slice(j + 1, j + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) { out += String.fromCharCode(parseInt(hex, 16)); j += 3; continue; }
      throw syntax(`bad escape \\${n}`, j + 1);
    }
    out += c;
    j++;
  }
}

/** Split one physical input into commands at `;` (outside quotes and brackets). */
export function splitCommands(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      const q = readQuoted(line, i);
      cur += line.slice(i, q.end);
      i = q.end - 1;
      continue;
    }
    if (c === '[') depth++;
    if (c === ']') depth = Math.max(0, depth - 1);
    if (c === ';' && depth === 0) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out.filter((s) => s.trim() !== '');
}

export function tokenize(line: string): Token[] {
  if (line.length > MAX_LINE) throw new ConfigError('CONSOLE_ERR_TOO_LONG', `syntax error: line longer than ${MAX_LINE} characters`);
  // A backslash at the end of a line continues the command on the next one; the console's
  // continuation prompt `\... ` may be pasted along (also flattened: `\ \... `).
  const s = line
    .replace(/\\\r?\n[ \t]*(?:\\\.\.\.[ \t]?)?/g, ' ')
    .replace(/(^|[ \t])\\[ \t]+\\\.\.\.(?=[ \t]|$)/g, ' ')
    .replace(/\r?\n/g, ' ');
  const toks: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') { i++; continue; }
    const col = i + 1;
    if (c === '#') break; // comment to end of line (export files)
    if (c === '[') {
      let depth = 0;
      let j = i;
      for (; j < s.length; j++) {
        if (s[j] === '"') { j = readQuoted(s, j).end - 1; continue; }
        if (s[j] === '[') depth++;
        else if (s[j] === ']') { depth--; if (depth === 0) break; }
      }
      if (j >= s.length) throw syntax('missing ]', col);
      toks.push({ value: s.slice(i + 1, j).trim(), quoted: false, bracket: true, col });
      i = j + 1;
      continue;
    }
    if (c === ']') throw syntax('unexpected ]', col);
    if (c === '"') {
      const q = readQuoted(s, i);
      if (q.end < s.length && !/[ \t]/.test(s[q.end])) throw syntax('expected space after quoted string', q.end + 1);
      toks.push({ value: q.value, quoted: true, col });
      i = q.end;
      continue;
    }
    // bare word, possibly key=value
    let j = i;
    while (j < s.length && !/[ \t="[\]]/.test(s[j])) j++;
    const word = s.slice(i, j);
    if (s[j] === '=') {
      if (word === '') throw syntax('missing name before =', col);
      let k = j + 1;
      // RouterOS prints `routes==""` in some manuals; a doubled `=` is not valid input.
      if (s[k] === '"') {
        const q = readQuoted(s, k);
        if (q.end < s.length && !/[ \t]/.test(s[q.end])) throw syntax('expected space after quoted string', q.end + 1);
        toks.push({ key: word, value: q.value, quoted: true, col });
        i = q.end;
        continue;
      }
      while (k < s.length && !/[ \t"[\]]/.test(s[k])) k++;
      if (s[k] === '"' || s[k] === '[' || s[k] === ']') throw syntax(`unexpected ${s[k]}`, k + 1);
      toks.push({ key: word, value: s.slice(j + 1, k), quoted: false, col });
      i = k;
      continue;
    }
    if (word === '') throw syntax(`unexpected ${JSON.stringify(s[j])}`, col);
    toks.push({ value: word, quoted: false, col });
    i = j;
  }
  return toks;
}

/** RouterOS quoting for print/export: bare when safe, else "..." with escapes. */
export function quote(v: string, force = false): string {
  if (!force && v !== '' && /^[A-Za-z0-9_.:,\-/*@+!%&^~|<>]+$/.test(v) && !v.includes('=')) return v;
  let out = '"';
  for (const ch of v) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\' || ch === '$' || ch === '?') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += '\\' + code.toString(16).toUpperCase().padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/**
 * A pasted console prompt at the start of a line: `[admin@MikroTik] interface pptp-client> `,
 * `[admin@RemoteOffice] /ppp secret>`, `[admin@RemoteOffice]> `. Returns the menu path it
 * names (absolute; old RouterOS prompts omit the leading slash) and the rest of the line.
 */
export function stripPrompt(line: string): { path: string; rest: string } | undefined {
  const m = /^\s*\[[^\]\s@]+@[^\]\s]+\]\s*([^>\n"]*)>[ \t]?/.exec(line);
  if (!m) return undefined;
  const p = m[1].trim().replace(/^\/+/, '');
  return { path: p === '' ? '/' : '/' + p.split(/\s+/).join(' '), rest: line.slice(m[0].length) };
}
