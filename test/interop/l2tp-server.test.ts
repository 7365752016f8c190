/**
 * xl2tpd 1.3.18 + pppd 2.4.9 (LAC, UML guest of the interop lab) dialling culvert's L2TP
 * server: a real `culvert daemon` in netns ia-lab bound to 198.18.0.1, configured with
 * `/ip pool`, `/ppp profile`, `/ppp secret`, `/interface l2tp-server server` through
 * `./bin/culvert` as a user would.
 *
 * Cases (every axis at least once, not the full cross product, to keep lab time down):
 *   MS-CHAPv2 + MPPE-128   xl2tpd kernel data path     no tunnel secret
 *   MS-CHAPv2, no MPPE     xl2tpd userspace data path  tunnel secret
 *   CHAP                   userspace                   no secret
 *   PAP                    kernel                      tunnel secret
 * Each case: the call comes up; `/ppp active`, the dynamic `/interface l2tp-server` row and its
 * `monitor` agree with what pppd's log and the guest's ppp0 say (user, address, encoding,
 * MTU); ping both ways; 10 MB each way over TCP intact (byte count + SHA-256); hang-up by us
 * (`/ppp active remove`: the guest's link goes down) and, after a redial, by the guest
 * (`d ia`: xl2tpd sends StopCCN without a CDN; `/ppp active` empties, the row goes).
 * Needs root; fails, never skips, if the lab or the daemon cannot start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_CLIENT_IP, LAB_HOST_IP, LAB_USER, LAB_PASSWORD, type Lab } from './lab.js';
import {
  CulvertDaemon, MB10, guestLinks, guestMtu, keyValues, pingFromGuest, pingFromLab, pppdFacts, transfer10MB, waitFor,
} from './pptp-helpers.js';
import { L2TP_TUNNEL_SECRET, l2tpCaseName, pppdAuthenticated, setServerTunnelSecret, pppActive, type L2tpCase } from './l2tp-helpers.js';

const CLI = 'cli';
/** Our tunnel end and pool: the same plan as the lab's xl2tpd LNS (README "Addressing"). */
const LOCAL = '198.19.2.1';
const POOL = '198.19.2.100-198.19.2.149';

const CASES: L2tpCase[] = [
  { auth: 'mschapv2', mppe: true, kernel: true, secret: false },
  { auth: 'mschapv2', mppe: false, kernel: false, secret: true },
  { auth: 'chap', mppe: false, kernel: false, secret: false },
  { auth: 'pap', mppe: false, kernel: true, secret: true },
];

const SERVER_AUTH: Record<L2tpCase['auth'], string> = { mschapv2: 'mschap2', chap: 'chap', pap: 'pap' };

async function runCase(lab: Lab, d: CulvertDaemon, c: L2tpCase, t: { diagnostic(m: string): void }): Promise<void> {
  const profile = c.mppe ? 'ia-enc' : 'ia-plain';
  const encoding = c.mppe ? 'MPPE128 stateless' : 'none';
  await d.cli(`/interface l2tp-server server set authentication=${SERVER_AUTH[c.auth]} default-profile=${profile}`);
  await d.cli(`/ppp secret set [find name=${LAB_USER}] profile=${profile}`);
  await setServerTunnelSecret(d, c.secret ? L2TP_TUNNEL_SECRET : undefined);
  try {
    const g = await lab.start(['xl2tpd-client'], {
      name: CLI, server: LAB_HOST_IP, auth: c.auth, mppe: c.mppe ? 'require' : 'none', l2tpKernel: c.kernel,
      ...(c.secret ? { l2tpSecret: L2TP_TUNNEL_SECRET } : {}), timeout: 60,
    });
    assert.equal(g.links.length, 1, `xl2tpd brought one link up: ${g.output}`);
    const link = g.links[0]!;
    const facts = pppdFacts(lab.guestLog(CLI, 'pppd-l2tp.log'));
    assert.ok(pppdAuthenticated(lab.guestLog(CLI, 'pppd-l2tp.log')), `pppd log shows ${c.auth} authentication succeeding`);
    assert.equal(facts.mppe, encoding, 'pppd log encoding');
    assert.equal(link.remote, LOCAL, 'the guest got our local address as its remote');
    assert.match(link.local, /^198\.19\.2\.1[0-4]\d$/, 'the guest got an address from our pool');

    const rows = await waitFor(async () => { const r = await pppActive(d); return r.length === 1 ? r : undefined; }, 10_000, '/ppp active to list the session');
    const a = rows[0]!;
    assert.equal(a.name, LAB_USER, '/ppp active name');
    assert.equal(a.service, 'l2tp', '/ppp active service');
    assert.equal(a.address, link.local, '/ppp active address is the one pppd got');
    assert.equal(a['caller-id'], LAB_CLIENT_IP, '/ppp active caller-id is the guest');
    assert.equal(a.encoding, encoding, '/ppp active encoding equals pppd\'s');

    const srvIf = await d.cli('/interface l2tp-server print');
    assert.match(srvIf, new RegExp(`D.*${LAB_USER}`), 'a dynamic l2tp-server row for the user');
    const mon = keyValues(await d.cli(`/interface l2tp-server monitor [find user=${LAB_USER}] once`));
    assert.equal(mon.status, 'connected', 'monitor status');
    assert.equal(mon.encoding, encoding, 'monitor encoding');
    assert.equal(mon['local-address'], LOCAL, 'monitor local-address');
    assert.equal(mon['remote-address'], link.local, 'monitor remote-address');
    // pppd sizes ppp0 so that a frame fits our MRU: minus 4 octets of MPPE overhead when
    // MPPE is on (ccp.c); our MTU is max-mtu (1460) capped by pppd's MRU (1500, not sent).
    assert.equal(Number(mon.mru) - (c.mppe ? 4 : 0), await guestMtu(lab, CLI, link.iface), 'the guest ppp mtu follows our monitor mru');
    assert.equal(Number(mon.mtu), 1460 - (c.mppe ? 4 : 0), 'monitor mtu: max-mtu, less the MPPE overhead as pppd does');

    assert.equal(await pingFromLab(link.local), 3, 'ping from us to the xl2tpd end');
    assert.equal(await pingFromGuest(lab, CLI, LOCAL), 3, 'ping from the xl2tpd guest to us');

    const x = await transfer10MB(lab, CLI, LOCAL);
    assert.equal(x.up.bytes, MB10, 'guest -> us: 10 MB arrived');
    assert.equal(x.up.sha256, x.up.guestSha, 'guest -> us: SHA-256 matches');
    assert.equal(x.down.bytes, MB10, 'us -> guest: 10 MB arrived');
    assert.equal(x.down.sha256, x.down.guestSha, 'us -> guest: SHA-256 matches');

    // Hang-up by us: the guest's pppd sees our LCP Terminate-Request and the link ends.
    await d.cli(`/ppp active remove [find name=${LAB_USER}]`);
    await waitFor(() => {
      const log = lab.guestLog(CLI, 'pppd-l2tp.log');
      return /LCP terminated by peer|Connection terminated|Modem hangup/.test(log.slice(log.lastIndexOf('Connect: ppp')));
    }, 20_000, 'pppd on the guest to log the hang-up after /ppp active remove');
    await waitFor(async () => (await pppActive(d)).length === 0, 10_000, '/ppp active to be empty after remove');
    // The guest's ip-down hook removes its link record; it was once seen hanging in the guest
    // ("Waiting for 1 child processes... ip-down") after pppd had logged the hang-up: not ours.
    await waitFor(async () => (await guestLinks(lab, CLI)) === 0, 20_000, 'the guest link record to go').catch((e: Error) => t.diagnostic(e.message));

    // Hang-up by the guest: xl2tpd's `d ia` sends StopCCN at once, without a CDN.
    await lab.dial(CLI, 'l2tp');
    await lab.waitUp(CLI, { timeout: 40 });
    await waitFor(async () => (await pppActive(d)).length === 1, 10_000, '/ppp active after redial');
    assert.equal(await pingFromLab((await pppActive(d))[0]!.address!), 3, 'ping through the redialled call');
    await lab.hangup(CLI, 'l2tp');
    await waitFor(async () => (await pppActive(d)).length === 0, 20_000, '/ppp active to be empty after the guest hung up');
    assert.doesNotMatch(await d.cli('/interface l2tp-server print'), new RegExp(`D.*${LAB_USER}`), 'the dynamic row is gone');
  } finally {
    await lab.stop(CLI).catch(() => undefined);
  }
}

test('xl2tpd + pppd LAC against culvert\'s L2TP server (MS-CHAPv2/MPPE, MS-CHAPv2, CHAP, PAP; kernel/userspace; with/without tunnel secret)', { timeout: 25 * 60_000 }, async (t) => {
  await withLab(async (lab) => {
    await lab.peerSh(['net-up']);
    const d = new CulvertDaemon();
    try {
      await d.start();
      await d.cli(`/ip pool add name=ia-pool ranges=${POOL}`);
      await d.cli(`/ppp profile add name=ia-enc local-address=${LOCAL} remote-address=ia-pool use-encryption=required`);
      await d.cli(`/ppp profile add name=ia-plain local-address=${LOCAL} remote-address=ia-pool use-encryption=no`);
      await d.cli(`/ppp secret add name=${LAB_USER} password=${LAB_PASSWORD} service=l2tp profile=ia-enc`);
      await d.cli('/interface l2tp-server server set enabled=yes');
      for (const c of CASES) {
        await t.test(l2tpCaseName(c), async (st) => {
          try {
            await runCase(lab, d, c, st);
          } catch (e) {
            throw new Error(`${(e as Error).message}\n--- culvert console ---\n${d.transcript.slice(-12).join('\n')}\n--- culvert daemon stderr (tail) ---\n${d.stderr().slice(-3000)}\n--- pppd (guest) ---\n${lab.guestLog(CLI, 'pppd-l2tp.log').slice(-3000)}\n--- xl2tpd (guest) ---\n${lab.guestLog(CLI, 'xl2tpd.log').slice(-2000)}`);
          }
        });
      }
    } finally {
      await d.stop();
    }
  }, { log: process.env.CULVERT_LAB_VERBOSE ? (l) => process.stderr.write(`${l}\n`) : undefined });
});
