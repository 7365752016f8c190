/**
 * Preloaded into a culvert daemon by the benches (`node --expose-gc --import .../heap-probe.js
 * dist/src/cli/main.js daemon ...`) to read its memory from outside without changing the
 * daemon: on SIGUSR2 it runs a full GC twice and writes process.memoryUsage() as JSON to
 * heapProbeFile(pid) (temp file + rename, so a reader never sees half a file).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the probe of process `pid` writes. */
export function heapProbeFile(pid: number): string {
  return join(tmpdir(), `culvert-heap-probe-${pid}.json`);
}

// Only inside a process that was started with --import of this file and asked for it.
if (process.execArgv.some((a) => a.includes('heap-probe'))) {
  const out = heapProbeFile(process.pid);
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    writeFileSync(`${out}.tmp`, JSON.stringify({ ...process.memoryUsage(), gc: gc !== undefined, at: Date.now() }));
    renameSync(`${out}.tmp`, out);
  });
}
