/**
 * What the management plane needs from the host: the Linux interfaces behind
 * `/interface ethernet`, ARP mode, and applying `/ip address` + `/ip route`. The daemon
 * uses LinuxHost (linux.ts); unit tests use NullHost or a fake.
 */
import type { ConfigView, ItemView } from './runtime.js';

export interface EthernetInfo {
  name: string;
  mtu: number;
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Up and has carrier. */
  running: boolean;
  /** What /proc and the link flags say: enabled | disabled | proxy-arp. */
  arp: string;
}

export interface Host {
  listEthernet(): EthernetInfo[];
  /** Apply an ARP mode to a Linux interface (proxy-arp sets /proc/sys/net/ipv4/conf/NAME/proxy_arp). */
  setArp(name: string, mode: string): Promise<void>;
  /** Make the kernel's addresses and routes match /ip address and /ip route. */
  apply(view: ConfigView): Promise<void>;
  /** Address whose interface does not exist (flag I). */
  addressInvalid(item: ItemView): boolean;
  /** Route installed in the kernel (flag A). */
  routeActive(item: ItemView): boolean;
  /** `/ping`: a few ICMP echoes, returning the console text. */
  ping(address: string, count: number): Promise<string>;
  /** Remove what apply() installed (SIGTERM). */
  teardown(): Promise<void>;
}

export class NullHost implements Host {
  ethernet: EthernetInfo[] = [];
  arpCalls: [string, string][] = [];
  listEthernet(): EthernetInfo[] {
    return this.ethernet.map((e) => ({ ...e }));
  }
  async setArp(name: string, mode: string): Promise<void> {
    this.arpCalls.push([name, mode]);
    const e = this.ethernet.find((x) => x.name === name);
    if (e) e.arp = mode === 'reply-only' ? 'enabled' : mode;
  }
  async apply(): Promise<void> {}
  addressInvalid(): boolean {
    return false;
  }
  routeActive(): boolean {
    return false;
  }
  async ping(address: string): Promise<string> {
    return `${address} timeout\n`;
  }
  async teardown(): Promise<void> {}
}
