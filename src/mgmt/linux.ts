/**
 * The Linux host behind /interface ethernet, /ip address and /ip route. Everything goes
 * through execFile('ip', argv) or /proc and /sys files: never a shell string. Only what
 * culvert itself installed is removed again (on change and on SIGTERM).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { IoError } from '../errors.js';
import type { EthernetInfo, Host } from './host.js';
import type { ConfigView, ItemView } from './runtime.js';

const ARPHRD_ETHER = 1;
const IFF_UP = 0x1;
const IFF_NOARP = 0x80;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10000 }, (e, stdout, stderr) => {
      if (e) reject(new IoError('IO_ERR_COMMAND', `${cmd} ${args.join(' ')}: ${(stderr || e.message).trim()}`));
      else resolve(stdout);
    });
  });
}

function readSys(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

interface Installed {
  argv: string[];
  key: string;
}

export class LinuxHost implements Host {
  private readonly addrs = new Map<string, Installed>(); // item id -> what we added
  private readonly routes = new Map<string, Installed>();
  private readonly log: (msg: string) => void;
  /** Something desired could not be installed yet (missing interface, unreachable gateway). */
  pending = false;

  constructor(log: (msg: string) => void) {
    this.log = log;
  }

  listEthernet(): EthernetInfo[] {
    let names: string[];
    try {
      names = fs.readdirSync('/sys/class/net');
    } catch {
      return [];
    }
    const out: (EthernetInfo & { index: number })[] = [];
    for (const name of names) {
      const base = `/sys/class/net/${name}`;
      if (Number(readSys(`${base}/type`)) !== ARPHRD_ETHER) continue;
      const flags = parseInt(readSys(`${base}/flags`) ?? '0', 16);
      const up = (flags & IFF_UP) !== 0;
      const carrier = up && readSys(`${base}/carrier`) === '1';
      const proxy = readSys(`/proc/sys/net/ipv4/conf/${name}/proxy_arp`) === '1';
      out.push({
        index: Number(readSys(`${base}/ifindex`) ?? 0),
        name,
        mtu: Number(readSys(`${base}/mtu`) ?? 0),
        mac: (readSys(`${base}/address`) ?? '').toUpperCase(),
        up,
        running: carrier,
        arp: flags & IFF_NOARP ? 'disabled' : proxy ? 'proxy-arp' : 'enabled',
      });
    }
    out.sort((a, b) => a.index - b.index);
    return out.map(({ index: _i, ...e }) => e);
  }

  async setArp(name: string, mode: string): Promise<void> {
    if (!fs.existsSync(`/sys/class/net/${name}`)) throw new IoError('IO_ERR_NO_INTERFACE', `interface ${name} does not exist (yet); arp=${mode} is stored and applied when you set it again`);
    fs.writeFileSync(`/proc/sys/net/ipv4/conf/${name}/proxy_arp`, mode === 'proxy-arp' ? '1' : '0');
    await run('ip', ['link', 'set', 'dev', name, 'arp', mode === 'disabled' ? 'off' : 'on']);
    this.log(`interface ${name}: arp=${mode}`);
  }

  private async reconcile(table: Map<string, Installed>, desired: Map<string, Installed>, kind: 'address' | 'route'): Promise<void> {
    for (const [id, inst] of [...table]) {
      const want = desired.get(id);
      if (want && want.key === inst.key) continue;
      try {
        await run('ip', [kind, 'del', ...inst.argv]);
      } catch (e) {
        this.log(`removing ${kind} ${inst.key}: ${(e as Error).message}`);
      }
      table.delete(id);
    }
    for (const [id, want] of desired) {
      if (table.has(id)) continue;
      try {
        await run('ip', [kind, 'add', ...want.argv]);
        table.set(id, want);
        this.log(`${kind} ${want.key} installed`);
      } catch (e) {
        this.pending = true;
        this.log(`${kind} ${want.key} not installed yet: ${(e as Error).message}`);
      }
    }
  }

  async apply(view: ConfigView): Promise<void> {
    this.pending = false;
    const addrs = new Map<string, Installed>();
    for (const it of view.list('/ip address')) {
      if (it.values.disabled === 'yes' || !fs.existsSync(`/sys/class/net/${it.values.interface}`)) {
        if (it.values.disabled !== 'yes') this.pending = true;
        continue;
      }
      addrs.set(it.id, { argv: [it.values.address, 'dev', it.values.interface], key: `${it.values.address} dev ${it.values.interface}` });
    }
    await this.reconcile(this.addrs, addrs, 'address');
    const routes = new Map<string, Installed>();
    for (const it of view.list('/ip route')) {
      if (it.values.disabled === 'yes') continue;
      const gw = it.values.gateway;
      const via = /^[0-9.]+$/.test(gw) ? ['via', gw] : ['dev', gw];
      const argv = [it.values['dst-address'], ...via, 'metric', it.values.distance ?? '1', 'proto', 'static'];
      routes.set(it.id, { argv, key: argv.join(' ') });
    }
    await this.reconcile(this.routes, routes, 'route');
  }

  addressInvalid(item: ItemView): boolean {
    return !fs.existsSync(`/sys/class/net/${item.values.interface}`);
  }

  routeActive(item: ItemView): boolean {
    return this.routes.has(item.id);
  }

  async ping(address: string, count: number): Promise<string> {
    let text = '';
    try {
      text = await run('ping', ['-n', '-c', String(count), '-W', '1', address]);
    } catch (e) {
      text = (e as Error).message;
    }
    let out = '';
    for (const l of text.split('\n')) {
      const m = /from ([0-9.]+): icmp_seq=\d+ ttl=(\d+) time=([0-9.]+) ms/.exec(l);
      if (m) out += `${m[1]} pong: ttl=${m[2]} time=${Math.round(Number(m[3]))} ms\n`;
      const s = /(\d+) packets transmitted, (\d+) received.*?(\d+)% packet loss/.exec(l);
      if (s) out += `${s[1]} packets transmitted, ${s[2]} packets received, ${s[3]}% packet loss\n`;
      const r = /= ([0-9.]+)\/([0-9.]+)\/([0-9.]+)/.exec(l);
      if (r) out += `round-trip min/avg/max = ${Math.round(Number(r[1]))}/${Number(r[2]).toFixed(1)}/${Math.round(Number(r[3]))} ms\n`;
    }
    return out || `${address} timeout\n`;
  }

  async teardown(): Promise<void> {
    for (const [id, inst] of [...this.routes]) {
      await run('ip', ['route', 'del', ...inst.argv]).catch((e) => this.log((e as Error).message));
      this.routes.delete(id);
    }
    for (const [id, inst] of [...this.addrs]) {
      await run('ip', ['address', 'del', ...inst.argv]).catch((e) => this.log((e as Error).message));
      this.addrs.delete(id);
    }
  }
}
