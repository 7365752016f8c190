/**
 * One enabled `/interface pptp-client` or `/interface l2tp-client` entry: what both runtimes
 * do alike around a connection. The TUN exists while the entry is enabled; a connection
 * attempt dials (the subclass's dial()); when it ends the entry redials after 1, 2, 4 ... 60 s
 * (reset once a connection came up). With dial-on-demand the TUN carries a placeholder address
 * from 10.112.112.0/24 (seed 000) and the first packet read from it dials. stop() hangs up and
 * deletes the TUN.
 */
import type { Daemon } from '../../mgmt/daemon.js';
import type { ConfigView } from '../../mgmt/runtime.js';
import { PppInterface, type PppRouteOptions } from '../ppp-interface.js';
import { Backoff, intOrUndefined, monitorFields, placeholderFor, yes } from './common.js';

export type RuntimeLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

/** What an entry needs of its runtime. */
export interface ClientEntryHost {
  readonly daemon: Daemon;
  readonly view: ConfigView | undefined;
  log: RuntimeLog;
}

/** What an entry needs of its connection. */
export interface ClientConnection {
  readonly status: string;
  hangup(reason: string): void;
}

export abstract class TunnelClientEntry<C extends ClientConnection> {
  iface: PppInterface | undefined;
  conn: C | undefined;
  status = 'disabled';
  reason: string | undefined;
  protected readonly backoff = new Backoff();
  protected timer: NodeJS.Timeout | undefined;
  protected stopping = false;
  private starting: Promise<void> | undefined;

  constructor(
    readonly menu: string,
    readonly id: string,
    readonly values: Readonly<Record<string, string>>,
    readonly signature: string,
    protected readonly rt: ClientEntryHost,
    private readonly index: number,
  ) {}

  get name(): string { return this.values.name; }
  get dialOnDemand(): boolean { return yes(this.values['dial-on-demand']); }
  /** Connected: the R flag, the counters and monitor's live values. */
  abstract get running(): boolean;
  /** Start a connection attempt (no-op while stopping, connected or without a TUN). */
  abstract dial(): void;

  /** `after`: the replaced entry's teardown (its TUN may have the same name). */
  start(after: Promise<unknown> = Promise.resolve()): void {
    this.starting = after.then(() => this.open()).catch((e) => {
      this.status = 'terminated';
      this.reason = (e as Error).message;
      this.rt.log('error', `${this.menu} ${this.name}: ${this.reason}`);
    });
  }

  private async open(): Promise<void> {
    const v = this.values;
    const iface = new PppInterface({
      name: v.name,
      addDefaultRoute: yes(v['add-default-route']),
      defaultRouteDistance: intOrUndefined(v['default-route-distance']) ?? 1,
      serverAddress: v['connect-to'],
      ...this.routeOptions(),
      placeholder: this.dialOnDemand ? placeholderFor(this.index) : undefined,
      onDemand: () => {
        if (!this.conn && !this.stopping) {
          this.rt.log('info', `${this.name}: outbound traffic, dialing ${v['connect-to']} on demand`);
          this.dial();
        }
      },
      log: (l) => this.rt.log('info', l),
    });
    this.iface = iface;
    await iface.open();
    if (this.stopping) {
      await iface.close();
      return;
    }
    if (this.dialOnDemand) {
      this.status = 'waiting';
      void this.rt.daemon.reapplyHost();
    } else this.dial();
  }

  /** Route options only one kind of tunnel has (PPTP: add-host-route=no is pptp(8) --nohostroute). */
  protected routeOptions(): Partial<PppRouteOptions> {
    return {};
  }

  /** After an attempt ended: redial after the back-off, or (dial-on-demand) on the next outbound packet. */
  protected retry(wasConnected: boolean): void {
    if (wasConnected) this.backoff.reset();
    if (this.dialOnDemand) return; // the next outbound packet dials again
    const d = this.backoff.take();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dial();
    }, d);
    this.timer.unref?.();
  }

  /** Called once a hangup has finished (or timed out), before the TUN goes. */
  protected async afterHangup(): Promise<void> {}

  async stop(reason = 'disabled'): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.starting;
    const conn = this.conn;
    if (conn) {
      await new Promise<void>((resolve) => {
        // Wait for the teardown exchange, but never more than 6 s for a peer that is gone.
        const done = (): void => {
          clearInterval(check);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(done, 6000);
        const check = setInterval(() => {
          if (conn.status === 'terminated') done();
        }, 20);
        conn.hangup(reason === 'disabled' ? 'disconnected by administrator' : reason);
      });
      await this.afterHangup();
    }
    this.conn = undefined;
    await this.iface?.close();
    this.iface = undefined;
    this.status = 'disabled';
  }

  monitor(): Record<string, string> {
    return monitorFields(this.running ? this.iface : undefined, this.status, this.reason);
  }
}
