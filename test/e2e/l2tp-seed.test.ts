/**
 * Seed 003 (RouterOS L2TP manual) examples end to end, one namespace per machine, each
 * router a culvert daemon configured with the seed's own console commands. Addresses are
 * mapped into 198.18.0.0/15:
 *   192.168.80.1 (office public) -> 198.18.80.1, its peer on the "internet" -> 198.18.80.2
 *   10.1.101.0/24 (office LAN)   -> 198.19.101.0/24
 *   172.16.1.1 / 172.16.1.2      -> 198.19.16.1 / 198.19.16.2
 *   10.1.202.0/24 (home LAN)     -> 198.19.202.0/24
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Topology, waitOutput } from '../io/l2tp/topology.js';
import { waitFor } from '../mgmt/helpers.js';

test('seed 003 "Connecting Remote Client": the laptop reaches a workstation on the office LAN (proxy-arp)', async () => {
  const topo = new Topology('rc');
  try {
    const office = topo.machine('office');
    const laptop = topo.machine('laptop');
    const ws = topo.machine('ws');
    topo.link(office, 'ether1', '198.18.80.1/24', laptop, 'ether1', '198.18.80.2/24');
    topo.link(office, 'ether2', '198.19.101.1/24', ws, 'eth0', '198.19.101.50/24');
    ws.ip('route', 'add', 'default', 'via', '198.19.101.1');
    office.forwarding();
    await topo.daemon(office);
    await topo.daemon(laptop);

    // Office router, as the seed.
    await office.cmd('/ppp secret add name=Laptop service=l2tp password=123 local-address=198.19.101.1 remote-address=198.19.101.100');
    const sec = await office.cmd('/ppp secret print detail');
    assert.match(sec.replace(/\s+/g, ' '), /name="Laptop" service=l2tp caller-id="" password="123" profile=default local-address=198\.19\.101\.1 remote-address=198\.19\.101\.100/);
    await office.cmd('/interface l2tp-server server set enabled=yes');
    assert.match(await office.cmd('/interface l2tp-server server print'), /enabled: yes/);
    // The laptop: an L2TP client to the office's public address (culvert here).
    await laptop.cmd('/interface l2tp-client add user=Laptop password=123 connect-to=198.18.80.1 disabled=no');
    await waitOutput(laptop, '/interface l2tp-client monitor l2tp-out1 once', /status: "?connected/);
    await waitOutput(office, '/ppp active print', /Laptop/);
    // Route the office LAN through the tunnel on the laptop (what a client OS does).
    await waitFor(() => /198\.19\.101\.100/.test(laptop.ip('-o', 'addr', 'show', 'dev', 'l2tp-out1')), 10000, 'laptop address');
    laptop.ip('route', 'add', '198.19.101.0/24', 'dev', 'l2tp-out1');

    // Before proxy-arp the workstation cannot get an ARP answer for the laptop.
    assert.equal(laptop.ping('198.19.101.50', 2), 0, 'no answer without proxy-arp (seed: "ping will time out")');
    await office.cmd('/interface ethernet set ether2 arp=proxy-arp');
    assert.match(await office.cmd('/interface ethernet print'), /ether2\s+1500\s+\S+\s+proxy-arp/);
    ws.ip('neigh', 'flush', 'all');
    await waitFor(() => laptop.ping('198.19.101.50', 1) === 1, 10000, 'first answer after proxy-arp');
    assert.equal(laptop.ping('198.19.101.50', 3), 3, 'the laptop reaches the workstation');
  } finally {
    await topo.destroy();
  }
});

test('seed 003 "Site-to-Site L2TP": office and home LANs reach each other through the tunnel', async () => {
  const topo = new Topology('ss');
  try {
    const office = topo.machine('office');
    const home = topo.machine('home');
    const ows = topo.machine('ows');
    const hws = topo.machine('hws');
    topo.link(office, 'ether1', '198.18.80.1/24', home, 'ether1', '198.18.80.2/24');
    topo.link(office, 'ether2', '198.19.101.1/24', ows, 'eth0', '198.19.101.50/24');
    topo.link(home, 'ether2', '198.19.202.1/24', hws, 'eth0', '198.19.202.50/24');
    ows.ip('route', 'add', 'default', 'via', '198.19.101.1');
    hws.ip('route', 'add', 'default', 'via', '198.19.202.1');
    office.forwarding();
    home.forwarding();
    await topo.daemon(office);
    await topo.daemon(home);

    await office.cmd('/ppp secret add name=Home service=l2tp password=123 local-address=198.19.16.1 remote-address=198.19.16.2 routes="198.19.202.0/24 198.19.16.2 1"');
    assert.match(await office.cmd('/ppp secret print detail'), /name="Home" service=l2tp .*routes="?198\.19\.202\.0\/24 198\.19\.16\.2 1/s);
    await office.cmd('/interface l2tp-server server set enabled=yes');
    await home.cmd('/interface l2tp-client add user=Home password=123 connect-to=198.18.80.1 disabled=no');
    const print = await home.cmd('/interface l2tp-client print');
    assert.match(print, /name="l2tp-out1"/);
    await waitOutput(home, '/interface l2tp-client print', /\bR\s+name="l2tp-out1"/);
    await home.cmd('/ip route add dst-address=198.19.101.0/24 gateway=l2tp-out1');

    // The secret's routes= put the home LAN behind the tunnel on the office router.
    await waitFor(() => /198\.19\.202\.0\/24 via 198\.19\.16\.2/.test(office.ip('route', 'show')), 15000, `office route to the home LAN:\n${office.ip('route', 'show')}`);
    await waitFor(() => /198\.19\.101\.0\/24 dev l2tp-out1/.test(home.ip('route', 'show')), 15000, `home route to the office LAN:\n${home.ip('route', 'show')}`);
    await waitFor(() => hws.ping('198.19.101.50', 1) === 1, 10000, 'first answer');
    assert.equal(hws.ping('198.19.101.50', 3), 3, 'home workstation -> office workstation');
    assert.equal(ows.ping('198.19.202.50', 3), 3, 'office workstation -> home workstation');
  } finally {
    await topo.destroy();
  }
});
