/**
 * Benchmark dispatcher: `npm run bench -- <name> [args]`.
 * Each benchmark lives in bench/<name>.ts and exports `run(args)`.
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  dataplane: () => import('./dataplane.js'),
  'ppp-link': () => import('./ppp-link.js'),
  pptp: () => import('./pptp.js'),
  l2tp: () => import('./l2tp.js'),
  'l2tp-scale': () => import('./l2tp-scale.js'),
};

const [name, ...rest] = process.argv.slice(2);
if (!name || !benches[name]) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [args]\n`);
  process.exit(2);
}
const m = await benches[name]();
await m.run(rest);
