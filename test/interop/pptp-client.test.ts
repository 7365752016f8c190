/**
 * culvert's PPTP client (a real `culvert daemon` in netns ia-lab, configured with
 * `./bin/culvert /interface pptp-client ...` as a user would) against a real pptpd 1.4.0 +
 * pppd 2.4.9 in a UML guest of the interop lab, with MS-CHAPv2 + MPPE-128, MS-CHAPv1 +
 * MPPE-128, CHAP and PAP. Each case: the tunnel comes up; `monitor` shows what pppd's log
 * says it negotiated (encoding, addresses, MTU of the guest's ppp0); ping both ways; 10 MB
 * each way over TCP arrive intact (byte count + SHA-256); hang-up by us (disable: pppd logs
 * the peer's terminate) and by the guest (its pppd ends the link: our monitor leaves
 * "connected"). Needs root; fails, never skips, if the lab or the daemon cannot start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_SERVER_IP, LAB_USER, LAB_PASSWORD, type Lab } from './lab.js';
import {
  CulvertDaemon, MB10, guestMtu, pingFromGuest, pingFromLab, pppdFacts, sleep, transfer10MB, waitFor,
} from './pptp-helpers.js';

const SRV = 'srv';
const IF = 'pptp-out1';

interface Case {
  name: string;
  auth: 'mschapv2' | 'mschap' | 'chap' | 'pap';
  allow: string;
  mppe: 'require' | 'none';
  /** Our profile: default-encryption asks for MPPE, default does not. */
  profile: 'default-encryption' | 'default';
  encoding: string;
}

const CASES: Case[] = [
  { name: 'MS-CHAPv2 + MPPE-128', auth: 'mschapv2', allow: 'mschap2', mppe: 'require', profile: 'default-encryption', encoding: 'MPPE128 stateless' },
  { name: 'MS-CHAPv1 + MPPE-128', auth: 'mschap', allow: 'mschap1', mppe: 'require', profile: 'default-encryption', encoding: 'MPPE128 stateless' },
  { name: 'CHAP, no encryption', auth: 'chap', allow: 'chap', mppe: 'none', profile: 'default', encoding: 'none' },
  { name: 'PAP, no encryption', auth: 'pap', allow: 'pap', mppe: 'none', profile: 'default', encoding: 'none' },
];

/** "1h2m3s" / "45s" -> seconds. */
function seconds(d: string | undefined): number {
  if (!d) return NaN;
  let s = 0;
  for (const m of d.matchAll(/(\d+)([wdhms])/g)) s += Number(m[1]) * { w: 604800, d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'w' | 'd' | 'h' | 'm' | 's'];
  return s;
}

async function connected(d: CulvertDaemon, timeoutMs = 40_000): Promise<Record<string, string>> {
  return waitFor(async () => {
    const m = await d.monitor('/interface pptp-client', IF);
    return m.status === 'connected' && m['local-address'] ? m : undefined;
  }, timeoutMs, `${IF} monitor status connected`);
}

async function runCase(lab: Lab, d: CulvertDaemon, c: Case): Promise<void> {
  await lab.start(['pptpd'], { name: SRV, auth: c.auth, mppe: c.mppe, timeout: 60 });
  try {
    await d.cli('/interface', 'pptp-client', 'set', IF, `allow=${c.allow}`, `profile=${c.profile}`);
    await d.cli('/interface', 'pptp-client', 'enable', IF);
    const mon = await connected(d);
    // Let pppd finish writing its log (ip-up runs after IPCP opens).
    await lab.waitUp(SRV, { timeout: 30 });
    const facts = pppdFacts(lab.guestLog(SRV, 'pppd-pptpd.log'));
    assert.ok(facts.authOk || c.auth === 'pap', `pppd log shows ${c.auth} authentication succeeding`);
    assert.equal(mon.encoding, c.encoding, 'monitor encoding');
    assert.equal(facts.mppe, c.encoding, 'pppd agrees on the encoding');
    assert.equal(mon['local-address'], facts.remote, 'our local address is pppd\'s remote');
    assert.equal(mon['remote-address'], facts.local, 'our remote address is pppd\'s local');
    assert.match(await d.cli('/interface', 'pptp-client', 'print'), /R\s+name="?pptp-out1"?/, 'print shows R (running)');

    const ours = mon['local-address']!;
    const theirs = mon['remote-address']!;
    assert.equal(await pingFromLab(theirs), 3, 'ping from us to the pptpd end');
    // A packet of our full MTU (20 IPv4 + 8 ICMP header + payload) must fit the peer's MRU.
    assert.equal(await pingFromLab(theirs, 3, Number(mon.mtu) - 28), 3, `full-size (${mon.mtu}-octet) DF ping from us arrives`);
    assert.equal(await pingFromGuest(lab, SRV, ours), 3, 'ping from the pptpd guest to us');

    // The host side of the link (MTU, addresses, routes) was configured without an error.
    assert.doesNotMatch(d.stderr(), /configuring \S+ failed/, 'the daemon configured the interface cleanly');

    const x = await transfer10MB(lab, SRV, ours);
    assert.equal(x.up.bytes, MB10, 'guest -> us: 10 MB arrived');
    assert.equal(x.up.sha256, x.up.guestSha, 'guest -> us: SHA-256 matches');
    assert.equal(x.down.bytes, MB10, 'us -> guest: 10 MB arrived');
    assert.equal(x.down.sha256, x.down.guestSha, 'us -> guest: SHA-256 matches');

    // pppd takes MPPE's 4 octets (RFC 3078 header + inner protocol) off the MTU; our end must too,
    // or full-size packets exceed the peer's MRU.
    const ppp0 = await guestMtu(lab, SRV, 'ppp0');
    assert.equal(Number(mon.mtu), ppp0, 'monitor mtu equals the guest ppp0 mtu');

    // Hang-up by us: pppd sees our LCP Terminate-Request and the call is cleared.
    await d.cli('/interface', 'pptp-client', 'disable', IF);
    await waitFor(() => {
      const log = lab.guestLog(SRV, 'pppd-pptpd.log');
      return /LCP terminated by peer|Connection terminated|Modem hangup/.test(log.slice(log.lastIndexOf('Using interface')));
    }, 20_000, 'pppd on the pptpd guest to log the hang-up');
    const off = await d.monitor('/interface pptp-client', IF);
    assert.notEqual(off.status, 'connected', 'disabled client is not connected');

    // Hang-up by the guest: its pppd terminates the link; our client leaves "connected"
    // (it may redial at once, so a reset uptime counts as well).
    await d.cli('/interface', 'pptp-client', 'enable', IF);
    await connected(d);
    await lab.waitUp(SRV, { timeout: 30 });
    await sleep(2100);
    const before = seconds((await d.monitor('/interface pptp-client', IF)).uptime);
    await lab.peerSh(['sh', SRV, 'for f in /var/run/ppp*.pid; do kill -TERM $(head -n1 $f); done']);
    await waitFor(async () => {
      const m = await d.monitor('/interface pptp-client', IF);
      return m.status !== 'connected' || seconds(m.uptime) < before;
    }, 30_000, 'our client to notice the guest hung up');
    await d.cli('/interface', 'pptp-client', 'disable', IF);
  } finally {
    await d.cli('/interface', 'pptp-client', 'disable', IF).catch(() => '');
    await lab.stop(SRV).catch(() => undefined);
  }
}

test('culvert PPTP client against pptpd + pppd (MS-CHAPv2/MPPE, MS-CHAPv1/MPPE, CHAP, PAP)', { timeout: 20 * 60_000 }, async (t) => {
  await withLab(async (lab) => {
    await lab.peerSh(['net-up']);
    const d = new CulvertDaemon();
    try {
      await d.start();
      await d.cli('/interface', 'pptp-client', 'add', `name=${IF}`, `connect-to=${LAB_SERVER_IP}`, `user=${LAB_USER}`,
        `password=${LAB_PASSWORD}`, 'disabled=yes');
      for (const c of CASES) {
        await t.test(c.name, async () => {
          try {
            await runCase(lab, d, c);
          } catch (e) {
            throw new Error(`${(e as Error).message}\n--- culvert console ---\n${d.transcript.slice(-12).join('\n')}\n--- culvert daemon stderr (tail) ---\n${d.stderr().slice(-3000)}\n--- pppd (guest) ---\n${lab.guestLog(SRV, 'pppd-pptpd.log').slice(-3000)}`);
          }
        });
      }
    } finally {
      await d.stop();
    }
  }, { log: process.env.CULVERT_LAB_VERBOSE ? (l) => process.stderr.write(`${l}\n`) : undefined });
});
