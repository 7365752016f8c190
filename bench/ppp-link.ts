/**
 * PPP Link data path: client wrapData (frame + MPPE encrypt in place) -> server
 * receiveFrame (decrypt in place, deliver). Reports ns/packet and minor GCs seen during
 * the timed loop (0 means the path did not allocate enough to trigger a scavenge).
 *
 *   npm run build && node dist/bench/ppp-link.js [packets=200000] [size=1400]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { FakeClock } from '../src/protocol/clock.js';
import { Link, DATA_HEADROOM, type LinkConfig } from '../src/protocol/ppp/link.js';
import { LocalVerifier } from '../src/protocol/ppp/auth/index.js';

type Mode = { name: string; cfg: Partial<LinkConfig> };
const MODES: Mode[] = [
  { name: 'none', cfg: { useEncryption: 'no' } },
  { name: 'MPPE128 stateless', cfg: { useEncryption: 'required', mppeBits: [128], mppeMode: 'stateless' } },
  { name: 'MPPE128 stateful', cfg: { useEncryption: 'required', mppeBits: [128], mppeMode: 'stateful' } },
];

function pair(cfg: Partial<LinkConfig>): { client: Link; server: Link; delivered: () => number } {
  const clock = new FakeClock();
  const q: { to: Link; f: Uint8Array }[] = [];
  let n = 0;
  const client: Link = new Link({
    role: 'client', clock, user: 'u', password: 'p', allow: ['mschap2'], keepaliveTimeout: 0, ...cfg,
    onFrame: (f) => q.push({ to: server, f: f.slice() }),
  } as LinkConfig);
  const server: Link = new Link({
    role: 'server', clock, verifier: new LocalVerifier((u) => (u === 'u' ? { password: 'p' } : undefined)), authentication: ['mschap2'],
    localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', keepaliveTimeout: 0, ...cfg,
    onFrame: (f) => q.push({ to: client, f: f.slice() }),
    onData: () => { n++; },
  } as LinkConfig);
  client.start();
  server.start();
  for (let i = 0; i < 2000 && !(client.isUp && server.isUp); i++) {
    while (q.length) { const { to, f } = q.shift()!; to.receiveFrame(f); }
    clock.advance(10);
  }
  if (!client.isUp || !server.isUp) throw new Error('link did not come up');
  return { client, server, delivered: () => n };
}

export async function run(args: string[]): Promise<void> {
  const packets = Number(args[0] ?? 200_000);
  const size = Number(args[1] ?? 1400);
  const ip = new Uint8Array(size);
  ip[0] = 0x45;
  for (let i = 20; i < size; i++) ip[i] = i & 0xff;
  for (const m of MODES) {
    const { client, server, delivered } = pair(m.cfg);
    const buf = new Uint8Array(DATA_HEADROOM + size);
    const once = () => {
      buf.set(ip, DATA_HEADROOM);
      const s = client.wrapData(buf, DATA_HEADROOM, size);
      server.receiveFrame(buf, s, DATA_HEADROOM + size - s);
    };
    for (let i = 0; i < 5000; i++) once(); // warm-up
    let gcs = 0;
    const obs = new PerformanceObserver((l) => { gcs += l.getEntries().length; });
    obs.observe({ entryTypes: ['gc'] });
    const before = delivered();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < packets; i++) once();
    const ns = Number(process.hrtime.bigint() - t0);
    await new Promise((r) => setImmediate(r));
    obs.disconnect();
    const got = delivered() - before;
    if (got !== packets) throw new Error(`${m.name}: delivered ${got}/${packets}`);
    process.stdout.write(
      `${m.name.padEnd(18)} ${size} B: ${(ns / packets).toFixed(0)} ns/packet (send+receive), ${((packets * size * 8) / ns).toFixed(2)} Gbit/s, GCs during loop: ${gcs}\n`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
