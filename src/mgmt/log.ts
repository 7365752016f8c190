/**
 * Human-readable log lines on stderr: `2026-11-21 17:50:01 info  daemon: listening on ...`.
 * Callers never pass secrets; config-change lines are redacted by the engine (password=***).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export type Logger = (level: Level, msg: string) => void;

export function stderrLogger(component = 'culvert'): Logger {
  return (level, msg) => {
    const t = new Date().toISOString().replace('T', ' ').slice(0, 19);
    process.stderr.write(`${t} ${level.padEnd(5)} ${component}: ${msg}\n`);
  };
}
