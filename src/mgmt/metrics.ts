/**
 * Prometheus text exposition (format 0.0.4) for GET /metrics. The registry defines the
 * metric families; runtimes supply the numbers through collectors at scrape time, so the
 * data path never touches this module.
 */

export type Labels = Readonly<Record<string, string>>;

export interface MetricsSink {
  /** Add one sample to a family declared in FAMILIES (or registered with define()). */
  add(family: string, labels: Labels, value: number): void;
}

export interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

/** The families every runtime reports into. Labels: interface, service (pptp|l2tp), role (client|server), reason. */
export const FAMILIES: readonly Family[] = [
  { name: 'culvert_up', type: 'gauge', help: 'The daemon is running.' },
  { name: 'culvert_config_changes_total', type: 'counter', help: 'Committed configuration changes.' },
  { name: 'culvert_tunnel_up', type: 'gauge', help: 'Tunnel is established (1) or not (0).' },
  { name: 'culvert_tunnel_rx_bytes_total', type: 'counter', help: 'Bytes received on a tunnel.' },
  { name: 'culvert_tunnel_tx_bytes_total', type: 'counter', help: 'Bytes sent on a tunnel.' },
  { name: 'culvert_tunnel_rx_packets_total', type: 'counter', help: 'Packets received on a tunnel.' },
  { name: 'culvert_tunnel_tx_packets_total', type: 'counter', help: 'Packets sent on a tunnel.' },
  { name: 'culvert_server_sessions', type: 'gauge', help: 'Sessions currently up on a server.' },
  { name: 'culvert_auth_failures_total', type: 'counter', help: 'Failed PPP authentications.' },
  { name: 'culvert_drops_total', type: 'counter', help: 'Packets dropped, by reason.' },
];

export type Collector = (sink: MetricsSink) => void;

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();
  private readonly collectors = new Set<Collector>();

  constructor() {
    for (const f of FAMILIES) this.families.set(f.name, f);
  }

  define(f: Family): void {
    if (!NAME_RE.test(f.name)) throw new TypeError(`bad metric name ${f.name}`);
    this.families.set(f.name, f);
  }

  addCollector(c: Collector): () => void {
    this.collectors.add(c);
    return () => this.collectors.delete(c);
  }

  /** Render every family that has samples (plus declared families with none, as HELP/TYPE only). */
  render(): string {
    const samples = new Map<string, { labels: Labels; value: number }[]>();
    const sink: MetricsSink = {
      add: (family, labels, value) => {
        if (!this.families.has(family)) return; // unknown families are ignored, not fatal
        let arr = samples.get(family);
        if (!arr) samples.set(family, (arr = []));
        arr.push({ labels, value });
      },
    };
    for (const c of this.collectors) {
      try {
        c(sink);
      } catch {
        // a failing collector must not break the scrape
      }
    }
    let out = '';
    for (const f of this.families.values()) {
      out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
      for (const s of samples.get(f.name) ?? []) {
        const keys = Object.keys(s.labels).filter((k) => LABEL_RE.test(k)).sort();
        const lbl = keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(s.labels[k])}"`).join(',')}}` : '';
        out += `${f.name}${lbl} ${formatValue(s.value)}\n`;
      }
    }
    return out;
  }
}
