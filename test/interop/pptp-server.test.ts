/**
 * pptp-linux 1.10 + pppd 2.4.9 (UML guest of the interop lab) dialling culvert's PPTP
 * server (a real `culvert daemon` in netns ia-lab bound to 198.18.0.1, configured with
 * `/ip pool`, `/ppp profile`, `/ppp secret`, `/interface pptp-server server` as a user
 * would), with MS-CHAPv2 + MPPE-128, MS-CHAPv1 + MPPE-128, CHAP and PAP. Each case: the
 * tunnel comes up; `/ppp active` and the dynamic `/interface pptp-server` row show the
 * user, the address pppd got and the encoding pppd's log states; ping both ways; 10 MB
 * each way over TCP intact (byte count + SHA-256); hang-up by us (`/ppp active remove`:
 * the guest's link goes down) and by the guest (`peer.sh hangup cli`: `/ppp active`
 * empties). Needs root; fails, never skips, if the lab or the daemon cannot start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_CLIENT_IP, LAB_HOST_IP, LAB_USER, LAB_PASSWORD, type Lab } from './lab.js';
import {
  CulvertDaemon, MB10, guestLinks, guestMtu, keyValues, pingFromGuest, pingFromLab, pppdFacts, transfer10MB, waitFor,
} from './pptp-helpers.js';

const CLI = 'cli';
/** Our tunnel end and pool: the same plan as the lab's pptpd (README "Addressing"). */
const LOCAL = '198.19.1.1';
const POOL = '198.19.1.100-198.19.1.149';

interface Case {
  name: string;
  auth: 'mschapv2' | 'mschap' | 'chap' | 'pap';
  /** /interface pptp-server server authentication= */
  authentication: string;
  mppe: 'require' | 'none';
  profile: 'ia-enc' | 'ia-plain';
  encoding: string;
}

const CASES: Case[] = [
  { name: 'MS-CHAPv2 + MPPE-128', auth: 'mschapv2', authentication: 'mschap2', mppe: 'require', profile: 'ia-enc', encoding: 'MPPE128 stateless' },
  { name: 'MS-CHAPv1 + MPPE-128', auth: 'mschap', authentication: 'mschap1', mppe: 'require', profile: 'ia-enc', encoding: 'MPPE128 stateless' },
  { name: 'CHAP, no encryption', auth: 'chap', authentication: 'chap', mppe: 'none', profile: 'ia-plain', encoding: 'none' },
  { name: 'PAP, no encryption', auth: 'pap', authentication: 'pap', mppe: 'none', profile: 'ia-plain', encoding: 'none' },
];

/** `/ppp active print detail` rows as key/values (one block per session). */
async function active(d: CulvertDaemon): Promise<Record<string, string>[]> {
  const out = await d.cli('/ppp', 'active', 'print', 'detail');
  return out.split(/\n\s*\n|\n(?=\s*\d+\s)/).map((b) => keyValuesInline(b)).filter((r) => r.name !== undefined);
}

/** `print detail` puts several key=value on a line. */
function keyValuesInline(block: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const m of block.matchAll(/([a-z][a-z0-9-]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) r[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  return r;
}

async function runCase(lab: Lab, d: CulvertDaemon, c: Case): Promise<void> {
  await d.cli('/interface', 'pptp-server', 'server', 'set', `authentication=${c.authentication}`, `default-profile=${c.profile}`);
  await d.cli('/ppp', 'secret', 'set', `[find name=${LAB_USER}]`, `profile=${c.profile}`);
  try {
    const g = await lab.start(['pptp-client'], { name: CLI, server: LAB_HOST_IP, auth: c.auth, mppe: c.mppe, timeout: 60 });
    assert.equal(g.links.length, 1, `pptp-linux brought one link up: ${g.output}`);
    const link = g.links[0]!;
    const facts = pppdFacts(lab.guestLog(CLI, 'pppd-pptp.log'));
    assert.ok(facts.authOk || c.auth === 'pap', `pppd log shows ${c.auth} authentication succeeding`);
    assert.equal(facts.mppe, c.encoding, 'pppd log encoding');
    assert.equal(link.remote, LOCAL, 'the guest got our local address as its remote');

    const rows = await waitFor(async () => { const r = await active(d); return r.length === 1 ? r : undefined; }, 10_000, '/ppp active to list the session');
    const a = rows[0]!;
    assert.equal(a.name, LAB_USER, '/ppp active name');
    assert.equal(a.service, 'pptp', '/ppp active service');
    assert.equal(a.address, link.local, '/ppp active address is the one pppd got');
    assert.equal(a['caller-id'], LAB_CLIENT_IP, '/ppp active caller-id is the guest');
    assert.equal(a.encoding, c.encoding, '/ppp active encoding equals pppd\'s');

    // The dynamic server interface and its monitor.
    const srvIf = await d.cli('/interface', 'pptp-server', 'print');
    assert.match(srvIf, new RegExp(`D.*${LAB_USER}`), 'a dynamic pptp-server row for the user');
    const mon = keyValues(await d.cli('/interface', 'pptp-server', 'monitor', `[find user=${LAB_USER}]`, 'once'));
    assert.equal(mon.status, 'connected', 'monitor status');
    assert.equal(mon.encoding, c.encoding, 'monitor encoding');
    assert.equal(mon['local-address'], LOCAL, 'monitor local-address');
    assert.equal(mon['remote-address'], link.local, 'monitor remote-address');

    assert.equal(await pingFromLab(link.local), 3, 'ping from us to the pptp-linux end');
    // A packet of our full MTU (20 IPv4 + 8 ICMP header + payload) must fit the peer's MRU.
    assert.equal(await pingFromLab(link.local, 3, Number(mon.mtu) - 28), 3, `full-size (${mon.mtu}-octet) DF ping from us arrives`);
    assert.equal(await pingFromGuest(lab, CLI, LOCAL), 3, 'ping from the pptp-linux guest to us');

    // The host side of the link (MTU, addresses, routes) was configured without an error.
    assert.doesNotMatch(d.stderr(), /configuring \S+ failed/, 'the daemon configured the interface cleanly');

    const x = await transfer10MB(lab, CLI, LOCAL);
    assert.equal(x.up.bytes, MB10, 'guest -> us: 10 MB arrived');
    assert.equal(x.up.sha256, x.up.guestSha, 'guest -> us: SHA-256 matches');
    assert.equal(x.down.bytes, MB10, 'us -> guest: 10 MB arrived');
    assert.equal(x.down.sha256, x.down.guestSha, 'us -> guest: SHA-256 matches');

    assert.equal(Number(mon.mtu), await guestMtu(lab, CLI, link.iface), 'monitor mtu equals the guest ppp mtu');

    // Hang-up by us: the guest's pppd loses the link (maxfail 1: it exits).
    await d.cli('/ppp', 'active', 'remove', `[find name=${LAB_USER}]`);
    await waitFor(async () => (await guestLinks(lab, CLI)) === 0, 20_000, 'the guest link to go down after /ppp active remove');
    await waitFor(async () => (await active(d)).length === 0, 10_000, '/ppp active to be empty after remove');
    const log = lab.guestLog(CLI, 'pppd-pptp.log');
    assert.match(log.slice(log.lastIndexOf('Using interface')), /LCP terminated by peer|Connection terminated|Modem hangup/, 'pppd logs the hang-up');

    // Hang-up by the guest.
    await lab.dial(CLI, 'pptp');
    await lab.waitUp(CLI, { timeout: 40 });
    await waitFor(async () => (await active(d)).length === 1, 10_000, '/ppp active after redial');
    await lab.hangup(CLI, 'pptp');
    await waitFor(async () => (await active(d)).length === 0, 20_000, '/ppp active to be empty after the guest hung up');
    assert.doesNotMatch(await d.cli('/interface', 'pptp-server', 'print'), new RegExp(`D.*${LAB_USER}`), 'the dynamic row is gone');
  } finally {
    // A failed case must not leave its session behind for the next one (same user, same TUN name).
    await d.cli('/ppp', 'active', 'remove', '[find]').catch(() => '');
    await waitFor(async () => (await active(d)).length === 0, 15_000, 'cleanup').catch(() => undefined);
    await lab.stop(CLI).catch(() => undefined);
  }
}

test('pptp-linux + pppd against culvert\'s PPTP server (MS-CHAPv2/MPPE, MS-CHAPv1/MPPE, CHAP, PAP)', { timeout: 20 * 60_000 }, async (t) => {
  await withLab(async (lab) => {
    await lab.peerSh(['net-up']);
    const d = new CulvertDaemon();
    try {
      await d.start();
      await d.cli('/ip', 'pool', 'add', 'name=ia-pool', `ranges=${POOL}`);
      await d.cli('/ppp', 'profile', 'add', 'name=ia-enc', `local-address=${LOCAL}`, 'remote-address=ia-pool', 'use-encryption=required');
      await d.cli('/ppp', 'profile', 'add', 'name=ia-plain', `local-address=${LOCAL}`, 'remote-address=ia-pool', 'use-encryption=no');
      await d.cli('/ppp', 'secret', 'add', `name=${LAB_USER}`, `password=${LAB_PASSWORD}`, 'service=pptp', 'profile=ia-enc');
      await d.cli('/interface', 'pptp-server', 'server', 'set', 'enabled=yes');
      for (const c of CASES) {
        await t.test(c.name, async () => {
          try {
            await runCase(lab, d, c);
          } catch (e) {
            throw new Error(`${(e as Error).message}\n--- culvert console ---\n${d.transcript.slice(-12).join('\n')}\n--- culvert daemon stderr (tail) ---\n${d.stderr().slice(-3000)}\n--- pppd (guest) ---\n${lab.guestLog(CLI, 'pppd-pptp.log').slice(-3000)}`);
          }
        });
      }
    } finally {
      await d.stop();
    }
  }, { log: process.env.CULVERT_LAB_VERBOSE ? (l) => process.stderr.write(`${l}\n`) : undefined });
});
