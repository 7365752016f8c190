/**
 * The part of the PPTP and L2TP runtimes that reads the same for both: the running flag and
 * monitor of `/interface *-client` entries and `/interface *-server` rows, and `/ppp active
 * remove` / `/interface *-server remove` of a dynamic row hanging its call up.
 */
import type { DynamicItem, ItemStatus, ItemView, Runtime } from '../../mgmt/runtime.js';
import type { Service } from '../../mgmt/session.js';
import type { ClientConnection, TunnelClientEntry } from './client-entry.js';
import { serverInterfaceMonitor, serverInterfaceStatus, sessionIdOfKey, type SessionRow } from './server-common.js';

export const ACTIVE_MENU = '/ppp active';

export abstract class TunnelRuntime<E extends TunnelClientEntry<ClientConnection>, S extends SessionRow> implements Runtime {
  abstract readonly name: Service;
  protected readonly clients = new Map<string, E>();

  constructor(private readonly menus: { client: string; server: string }) {}

  /** The server's calls that are up (they show in /ppp active). */
  protected abstract connectedSessions(): S[];
  /** Hang up the server call `id`; false if there is no such call (or no server). */
  protected abstract disconnectCall(id: number): boolean;

  status(menu: string, item: ItemView): ItemStatus | undefined {
    if (menu === this.menus.client) {
      const e = this.clients.get(item.id);
      return e ? { running: e.running } : undefined;
    }
    if (menu === this.menus.server) return serverInterfaceStatus(this.connectedSessions(), item);
    return undefined;
  }

  monitor(menu: string, item: ItemView | DynamicItem): Readonly<Record<string, string>> | undefined {
    if (menu === this.menus.client) return this.clients.get((item as ItemView).id)?.monitor();
    if (menu === this.menus.server) return serverInterfaceMonitor(this.name, this.connectedSessions(), item);
    return undefined;
  }

  removeDynamic(menu: string, key: string): boolean {
    if (menu !== ACTIVE_MENU && menu !== this.menus.server) return false;
    const id = sessionIdOfKey(this.name, key);
    return id !== undefined && this.disconnectCall(id);
  }
}
