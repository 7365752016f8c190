/**
 * The tunnel runtimes the daemon starts. This is the one place where the PPTP/L2TP
 * client and server runtimes plug in: append a factory; the daemon calls it with itself
 * (for `resolver`, `metrics`, `log`, `reapplyHost`) and registers what it returns before it
 * loads the configuration into them. See src/mgmt/README.md.
 */
import type { Runtime } from './runtime.js';
import type { Daemon } from './daemon.js';
import { createPptpRuntime } from '../io/runtime/pptp.js';
import { createL2tpRuntime } from '../io/runtime/l2tp.js';

export type RuntimeFactory = (daemon: Daemon) => Runtime | Promise<Runtime>;

export const RUNTIME_FACTORIES: RuntimeFactory[] = [
  (daemon) => createPptpRuntime(daemon),
  (daemon) => createL2tpRuntime(daemon),
];
