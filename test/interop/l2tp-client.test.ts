/**
 * culvert's L2TP client (a real `culvert daemon` in netns ia-lab bound to 198.18.0.1,
 * configured with `./bin/culvert /interface l2tp-client ...` as a user would) against a real
 * xl2tpd 1.3.18 + pppd 2.4.9 LNS in a UML guest of the interop lab.
 *
 * Cases (every axis at least once, not the full cross product, to keep lab time down):
 *   MS-CHAPv2 + MPPE-128   xl2tpd kernel data path     no tunnel secret
 *   MS-CHAPv2, no MPPE     xl2tpd userspace data path  tunnel secret
 *   CHAP                   kernel                      tunnel secret
 *   PAP                    userspace                   no secret
 * Each case: the call comes up; `monitor` shows what pppd's log says it negotiated (encoding,
 * addresses) and the MTU of the guest's ppp0; print shows R; ping both ways; 10 MB each way
 * over TCP intact (byte count + SHA-256); hang-up by us (disable: pppd logs the peer's
 * terminate) and by the guest (its pppd ends the link: our monitor leaves "connected").
 * Needs root; fails, never skips, if the lab or the daemon cannot start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_SERVER_IP, LAB_USER, LAB_PASSWORD, type Lab } from './lab.js';
import { CulvertDaemon, MB10, guestMtu, pingFromGuest, pingFromLab, pppdFacts, sleep, transfer10MB, waitFor } from './pptp-helpers.js';
import { L2TP_TUNNEL_SECRET, l2tpCaseName, pppdAuthenticated, setClientTunnelSecret, type L2tpCase } from './l2tp-helpers.js';

const SRV = 'srv';
const IF = 'l2tp-out1';

const CASES: L2tpCase[] = [
  { auth: 'mschapv2', mppe: true, kernel: true, secret: false },
  { auth: 'mschapv2', mppe: false, kernel: false, secret: true },
  { auth: 'chap', mppe: false, kernel: true, secret: true },
  { auth: 'pap', mppe: false, kernel: false, secret: false },
];

const ALLOW: Record<L2tpCase['auth'], string> = { mschapv2: 'mschap2', chap: 'chap', pap: 'pap' };

/** "1h2m3s" / "45s" -> seconds. */
function seconds(d: string | undefined): number {
  if (!d) return NaN;
  let s = 0;
  for (const m of d.matchAll(/(\d+)([wdhms])/g)) s += Number(m[1]) * { w: 604800, d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'w' | 'd' | 'h' | 'm' | 's'];
  return s;
}

async function connected(d: CulvertDaemon, timeoutMs = 40_000): Promise<Record<string, string>> {
  return waitFor(async () => {
    const m = await d.monitor('/interface l2tp-client', IF);
    return m.status === 'connected' && m['local-address'] ? m : undefined;
  }, timeoutMs, `${IF} monitor status connected`);
}

async function runCase(lab: Lab, d: CulvertDaemon, c: L2tpCase): Promise<void> {
  const encoding = c.mppe ? 'MPPE128 stateless' : 'none';
  await lab.start(['xl2tpd-server'], {
    name: SRV, auth: c.auth, mppe: c.mppe ? 'require' : 'none', l2tpKernel: c.kernel,
    ...(c.secret ? { l2tpSecret: L2TP_TUNNEL_SECRET } : {}), timeout: 60,
  });
  try {
    // default-encryption asks for MPPE (use-encryption=yes), default does not.
    await d.cli(`/interface l2tp-client set ${IF} allow=${ALLOW[c.auth]} profile=${c.mppe ? 'default-encryption' : 'default'}`);
    await setClientTunnelSecret(d, IF, c.secret ? L2TP_TUNNEL_SECRET : undefined);
    await d.cli(`/interface l2tp-client enable ${IF}`);
    const mon = await connected(d);
    // Let pppd finish writing its log (ip-up runs after IPCP opens).
    await lab.waitUp(SRV, { timeout: 30 });
    const facts = pppdFacts(lab.guestLog(SRV, 'pppd-xl2tpd.log'));
    assert.ok(pppdAuthenticated(lab.guestLog(SRV, 'pppd-xl2tpd.log')), `pppd log shows ${c.auth} authentication succeeding`);
    assert.equal(mon.encoding, encoding, 'monitor encoding');
    assert.equal(facts.mppe, encoding, 'pppd agrees on the encoding');
    assert.equal(mon['local-address'], facts.remote, 'our local address is pppd\'s remote');
    assert.equal(mon['remote-address'], facts.local, 'our remote address is pppd\'s local');
    assert.equal(mon['remote-address'], '198.19.2.1', 'xl2tpd\'s local ip');
    // pppd sizes ppp0 so that a frame fits our MRU: minus 4 octets of MPPE overhead when
    // MPPE is on (ccp.c); our MTU is max-mtu (1460) capped by pppd's MRU (1500, not sent).
    assert.equal(Number(mon.mru) - (c.mppe ? 4 : 0), await guestMtu(lab, SRV, 'ppp0'), 'the guest ppp0 mtu follows our monitor mru');
    assert.equal(Number(mon.mtu), 1460 - (c.mppe ? 4 : 0), 'monitor mtu: max-mtu, less the MPPE overhead as pppd does');
    assert.match(await d.cli('/interface l2tp-client print'), /R\s+name="?l2tp-out1"?/, 'print shows R (running)');

    const ours = mon['local-address']!;
    const theirs = mon['remote-address']!;
    assert.equal(await pingFromLab(theirs), 3, 'ping from us to the xl2tpd end');
    assert.equal(await pingFromGuest(lab, SRV, ours), 3, 'ping from the xl2tpd guest to us');

    const x = await transfer10MB(lab, SRV, ours);
    assert.equal(x.up.bytes, MB10, 'guest -> us: 10 MB arrived');
    assert.equal(x.up.sha256, x.up.guestSha, 'guest -> us: SHA-256 matches');
    assert.equal(x.down.bytes, MB10, 'us -> guest: 10 MB arrived');
    assert.equal(x.down.sha256, x.down.guestSha, 'us -> guest: SHA-256 matches');

    // Hang-up by us: pppd sees our LCP Terminate-Request, then the call and tunnel are cleared.
    await d.cli(`/interface l2tp-client disable ${IF}`);
    await waitFor(() => {
      const log = lab.guestLog(SRV, 'pppd-xl2tpd.log');
      return /LCP terminated by peer|Connection terminated|Modem hangup/.test(log.slice(log.lastIndexOf('Connect: ppp')));
    }, 20_000, 'pppd on the xl2tpd guest to log the hang-up');
    const off = await d.monitor('/interface l2tp-client', IF);
    assert.notEqual(off.status, 'connected', 'disabled client is not connected');

    // Hang-up by the guest: its pppd terminates the link (xl2tpd then clears the call);
    // our client leaves "connected" (it may redial at once, so a reset uptime counts too).
    await d.cli(`/interface l2tp-client enable ${IF}`);
    await connected(d);
    await lab.waitUp(SRV, { timeout: 30 });
    await sleep(2100);
    const before = seconds((await d.monitor('/interface l2tp-client', IF)).uptime);
    await lab.peerSh(['sh', SRV, 'for f in /var/run/ppp*.pid; do kill -TERM $(head -n1 $f); done']);
    await waitFor(async () => {
      const m = await d.monitor('/interface l2tp-client', IF);
      return m.status !== 'connected' || seconds(m.uptime) < before;
    }, 30_000, 'our client to notice the guest hung up');
    await d.cli(`/interface l2tp-client disable ${IF}`);
  } finally {
    await d.cli(`/interface l2tp-client disable ${IF}`).catch(() => '');
    await lab.stop(SRV).catch(() => undefined);
  }
}

test('culvert L2TP client against xl2tpd + pppd (MS-CHAPv2/MPPE, MS-CHAPv2, CHAP, PAP; kernel/userspace; with/without tunnel secret)', { timeout: 25 * 60_000 }, async (t) => {
  await withLab(async (lab) => {
    await lab.peerSh(['net-up']);
    const d = new CulvertDaemon();
    try {
      await d.start();
      await d.cli(`/interface l2tp-client add name=${IF} connect-to=${LAB_SERVER_IP} user=${LAB_USER} password=${LAB_PASSWORD} disabled=yes`);
      for (const c of CASES) {
        await t.test(l2tpCaseName(c), async () => {
          try {
            await runCase(lab, d, c);
          } catch (e) {
            throw new Error(`${(e as Error).message}\n--- culvert console ---\n${d.transcript.slice(-12).join('\n')}\n--- culvert daemon stderr (tail) ---\n${d.stderr().slice(-3000)}\n--- pppd (guest) ---\n${lab.guestLog(SRV, 'pppd-xl2tpd.log').slice(-3000)}\n--- xl2tpd (guest) ---\n${lab.guestLog(SRV, 'xl2tpd.log').slice(-2000)}`);
          }
        });
      }
    } finally {
      await d.stop();
    }
  }, { log: process.env.CULVERT_LAB_VERBOSE ? (l) => process.stderr.write(`${l}\n`) : undefined });
});
