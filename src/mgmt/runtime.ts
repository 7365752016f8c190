/**
 * The seam between the management plane and the tunnel runtimes (PPTP/L2TP clients and
 * servers, written elsewhere). The daemon owns a RuntimeRegistry; a runtime registers,
 * is told whenever the configuration changes (it reconciles: reads the menus it cares
 * about from the ConfigView), and reports what only it knows: dynamic entries (a
 * connected user's `<pptp-x>` interface, /ppp active rows, dynamic routes), whether a
 * static entry is running, `monitor` data and metrics.
 */
import type { MetricsSink } from './metrics.js';

/** A read-only item as the runtime sees it: effective values (defaults applied). */
export interface ItemView {
  /** RouterOS `.id`, e.g. "*1". */
  readonly id: string;
  readonly values: Readonly<Record<string, string>>;
}

export interface ConfigView {
  /** Items of a list menu, e.g. list('/interface pptp-client'). */
  list(menu: string): ItemView[];
  /** Settings of a single menu, e.g. single('/interface pptp-server server'). */
  single(menu: string): Readonly<Record<string, string>>;
}

/** A row that exists only while something is live (flag D). */
export interface DynamicItem {
  /** Stable while the entry lives, unique within the menu, e.g. "pptp-ex#17". */
  readonly key: string;
  /** Values by property name: name, user, mtu, client-address, uptime, encoding, ... */
  readonly values: Readonly<Record<string, string>>;
  readonly running?: boolean;
}

/** Live state of a configured (static) item. */
export interface ItemStatus {
  readonly running?: boolean;
  /** Read-only properties to show (mtu, client-address, uptime, encoding...). */
  readonly values?: Readonly<Record<string, string>>;
}

export interface Runtime {
  readonly name: string;
  /** Called once when the daemon starts (after the config is loaded) and after every committed change. */
  configChanged?(view: ConfigView, menus: ReadonlySet<string>): void;
  /** Tear everything down (SIGTERM): tunnels closed, routes and addresses it added removed. */
  stop?(): Promise<void>;
  /** Dynamic rows for a menu ('/interface pptp-server', '/ppp active', '/ip route'...). */
  dynamicItems?(menu: string): readonly DynamicItem[] | undefined;
  /** Running flag and live values of a static item. */
  status?(menu: string, item: ItemView): ItemStatus | undefined;
  /** `monitor` fields: status, uptime, idle-time, encoding, mtu, mru, local-address, remote-address. */
  monitor?(menu: string, item: ItemView | DynamicItem): Readonly<Record<string, string>> | undefined;
  /** `/ppp active remove`: disconnect. Returns true if the runtime owned the entry. */
  removeDynamic?(menu: string, key: string): boolean;
  /** Contribute samples to GET /metrics. */
  collectMetrics?(sink: MetricsSink): void;
}

export class RuntimeRegistry {
  private readonly runtimes: Runtime[] = [];

  register(rt: Runtime): () => void {
    this.runtimes.push(rt);
    return () => {
      const i = this.runtimes.indexOf(rt);
      if (i >= 0) this.runtimes.splice(i, 1);
    };
  }

  get all(): readonly Runtime[] {
    return this.runtimes;
  }

  notify(view: ConfigView, menus: ReadonlySet<string>, onError: (rt: Runtime, e: unknown) => void): void {
    for (const rt of this.runtimes) {
      try {
        rt.configChanged?.(view, menus);
      } catch (e) {
        onError(rt, e);
      }
    }
  }

  dynamicItems(menu: string): DynamicItem[] {
    const out: DynamicItem[] = [];
    for (const rt of this.runtimes) {
      const items = rt.dynamicItems?.(menu);
      if (items) out.push(...items);
    }
    return out;
  }

  status(menu: string, item: ItemView): ItemStatus | undefined {
    for (const rt of this.runtimes) {
      const s = rt.status?.(menu, item);
      if (s) return s;
    }
    return undefined;
  }

  monitor(menu: string, item: ItemView | DynamicItem): Readonly<Record<string, string>> | undefined {
    for (const rt of this.runtimes) {
      const m = rt.monitor?.(menu, item);
      if (m) return m;
    }
    return undefined;
  }

  removeDynamic(menu: string, key: string): boolean {
    for (const rt of this.runtimes) if (rt.removeDynamic?.(menu, key)) return true;
    return false;
  }

  async stopAll(onError: (rt: Runtime, e: unknown) => void): Promise<void> {
    for (const rt of [...this.runtimes].reverse()) {
      try {
        await rt.stop?.();
      } catch (e) {
        onError(rt, e);
      }
    }
  }
}
