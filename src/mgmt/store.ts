/**
 * Durable configuration store in the data directory. Every committed change is written
 * as a whole new file: write `config.jsonl.tmp`, fsync it, hard-link the current file to
 * `config.jsonl.bak` (the last good version), rename the temp over the live file, fsync
 * the directory. A kill -9 at any point leaves either the old or the new file complete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, IoError } from '../errors.js';
import { deserialize, emptyConfig, serialize, type ConfigData } from './model.js';

export const STORE_FILE = 'config.jsonl';

export class ConfigStore {
  readonly dir: string;
  readonly file: string;
  readonly backup: string;

  constructor(dir: string) {
    this.dir = dir;
    this.file = path.join(dir, STORE_FILE);
    this.backup = this.file + '.bak';
  }

  /** Create the data directory (0700) if needed. */
  ensureDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Load the store. A missing file is an empty configuration; a corrupt one throws
   * ConfigError CONFIG_ERR_CORRUPT_STORE whose message names the file and line and
   * points at the backup.
   */
  load(): ConfigData {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyConfig();
      throw new IoError('IO_ERR_STORE_READ', `cannot read ${this.file}: ${(e as Error).message}`);
    }
    try {
      return deserialize(text, this.file);
    } catch (e) {
      if (e instanceof ConfigError) {
        const hint = fs.existsSync(this.backup) ? `; the last good version is in ${this.backup}` : '';
        throw new ConfigError(e.code, e.message + hint);
      }
      throw e;
    }
  }

  save(cfg: ConfigData): void {
    const tmp = this.file + '.tmp';
    const data = serialize(cfg);
    try {
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      if (fs.existsSync(this.file)) {
        // Keep the previous (good) version: a hard link costs no copy.
        const bakTmp = this.backup + '.tmp';
        fs.rmSync(bakTmp, { force: true });
        fs.linkSync(this.file, bakTmp);
        fs.renameSync(bakTmp, this.backup);
      }
      fs.renameSync(tmp, this.file);
      const dfd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch (e) {
      throw new IoError('IO_ERR_STORE_WRITE', `cannot write ${this.file}: ${(e as Error).message}; the change was not applied`);
    }
  }
}
