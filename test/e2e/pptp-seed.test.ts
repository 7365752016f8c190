/**
 * Seed 000/001 (RouterOS PPTP manual) examples end to end, one namespace per machine of
 * the seed's drawing, each router a culvert daemon configured with the seed's own console
 * commands. Addresses are mapped into 198.18.0.0/15:
 *   192.168.80.1 (office public) -> 198.18.80.1, the other end of the "internet" -> 198.18.80.2
 *   10.1.101.0/24 (office LAN)   -> 198.19.101.0/24
 *   172.16.1.1 / 172.16.1.2      -> 198.19.16.1 / 198.19.16.2
 *   10.1.202.0/24 (home LAN)     -> 198.19.202.0/24
 */
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { Topology, waitOutput, type Machine } from '../io/l2tp/topology.js';
import { waitFor } from '../mgmt/helpers.js';

test('seed 000 "Connecting Remote Client": the laptop reaches a workstation behind the office router (proxy-arp on Office)', async () => {
  const topo = new Topology('pprc');
  try {
    const office = topo.machine('office');
    const laptop = topo.machine('laptop');
    const ws = topo.machine('ws');
    topo.link(office, 'ether1', '198.18.80.1/24', laptop, 'ether1', '198.18.80.2/24');
    // The seed's LAN interface is called "Office" in its arp=proxy-arp command.
    topo.link(office, 'Office', '198.19.101.1/24', ws, 'eth0', '198.19.101.50/24');
    ws.ip('route', 'add', 'default', 'via', '198.19.101.1');
    office.forwarding();
    await topo.daemon(office);
    await topo.daemon(laptop);

    await office.cmd('/ppp secret add name=Laptop service=pptp password=123 local-address=198.19.101.1 remote-address=198.19.101.100');
    const sec = (await office.cmd('/ppp secret print detail')).replace(/\s+/g, ' ');
    assert.match(sec, /name="Laptop" service=pptp caller-id="" password="123" profile=default local-address=198\.19\.101\.1 remote-address=198\.19\.101\.100/);
    await office.cmd('/interface pptp-server server set enabled=yes');
    assert.match(await office.cmd('/interface pptp-server server print'), /enabled: yes/);

    // The laptop: a PPTP client to the office's public address that sends everything through
    // the tunnel (a client OS's "use default gateway on remote network").
    await laptop.cmd('/interface pptp-client add user=Laptop password=123 connect-to=198.18.80.1 add-default-route=yes disabled=no');
    await waitOutput(laptop, '/interface pptp-client monitor pptp-out1 once', /status: "connected"/);
    await waitOutput(office, '/ppp active print', /Laptop\s+pptp\s+198\.18\.80\.2\s+198\.19\.101\.100/);
    assert.match(laptop.ip('route'), /default dev pptp-out1/);

    // Seed: "if you try to ping any workstation from the laptop, the ping will time out".
    assert.equal(laptop.ping('198.19.101.50', 2), 0, 'no answer without proxy-arp');
    await office.cmd('/interface ethernet set Office arp=proxy-arp');
    assert.match(await office.cmd('/interface ethernet print'), /Office\s+1500\s+\S+\s+proxy-arp/);
    ws.ip('neigh', 'flush', 'all');
    await waitFor(() => laptop.ping('198.19.101.50', 1) === 1, 10000, 'first answer after proxy-arp');
    assert.equal(laptop.ping('198.19.101.50', 3), 3, 'the laptop reaches the workstation');
  } finally {
    await topo.destroy();
  }
});

test('seed 000 "Site-to-Site PPTP": office and home LANs reach each other via the routes the seed adds', async () => {
  const topo = new Topology('ppss');
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

    await office.cmd('/ppp secret add name=Home service=pptp password=123 local-address=198.19.16.1 remote-address=198.19.16.2 routes="198.19.202.0/24 198.19.16.2 1"');
    assert.match((await office.cmd('/ppp secret print detail')).replace(/\s+/g, ' '), /name="Home" service=pptp .*routes="?198\.19\.202\.0\/24 198\.19\.16\.2 1/);
    await office.cmd('/interface pptp-server server set enabled=yes');
    await home.cmd('/interface pptp-client add user=Home password=123 connect-to=198.18.80.1 disabled=no');
    const print = await home.cmd('/interface pptp-client print');
    assert.match(print.replace(/\s+/g, ' '), /name="pptp-out1" max-mtu=1460 max-mru=1460 mrru=disabled connect-to=198\.18\.80\.1 user="Home" password="123" profile=default-encryption add-default-route=no dial-on-demand=no allow=pap,chap,mschap1,mschap2/);
    await waitOutput(home, '/interface pptp-client print', /\bR\s+name="pptp-out1"/);
    await home.cmd('/ip route add dst-address=198.19.101.0/24 gateway=pptp-out1');

    // The secret's routes= put the home LAN behind the tunnel on the office router.
    await waitFor(() => /198\.19\.202\.0\/24 via 198\.19\.16\.2/.test(office.ip('route', 'show')), 15000, `office route to the home LAN:\n${office.ip('route', 'show')}`);
    await waitFor(() => /198\.19\.101\.0\/24 dev pptp-out1/.test(home.ip('route', 'show')), 15000, `home route to the office LAN:\n${home.ip('route', 'show')}`);
    const mon = await home.cmd('/interface pptp-client monitor pptp-out1 once');
    assert.match(mon, /encoding: "MPPE128 stateless"/);
    await waitFor(() => hws.ping('198.19.101.50', 1) === 1, 10000, 'first answer');
    assert.equal(hws.ping('198.19.101.50', 3), 3, 'home workstation -> office workstation');
    assert.equal(ows.ping('198.19.202.50', 3), 3, 'office workstation -> home workstation');

    // TCP between the LANs, each router's LAN port without offloads: the segments a router
    // coalesced into one write to its TUN are cut and checksummed again in software on the
    // way out, and the workstation's TCP accepts every byte.
    office.exec('ethtool', '-K', 'ether2', 'tso', 'off', 'gso', 'off', 'tx', 'off');
    home.exec('ethtool', '-K', 'ether2', 'tso', 'off', 'gso', 'off', 'tx', 'off');
    assert.deepEqual(...(await tcpTransfer(hws, ows, '198.19.101.50')), 'home -> office: 4 MiB intact');
    assert.deepEqual(...(await tcpTransfer(ows, hws, '198.19.202.50')), 'office -> home: 4 MiB intact');
    // Same-size UDP datagrams of one flow, coalesced into one write by the receiving router,
    // likewise cut and checksummed again on the way out: they arrive (a wrong checksum seed
    // would have the workstation drop every one).
    const got = await udpBurst(hws, ows, '198.19.101.50');
    assert.ok(got >= 100, `home -> office: ${got}/200 UDP datagrams arrived intact`);
  } finally {
    await topo.destroy();
  }
});

/** 4 MiB of seeded bytes over TCP from `from` to `to` (listening on `addr`): [sent, received] as "sha256 length". */
async function tcpTransfer(from: Machine, to: Machine, addr: string): Promise<[string, string]> {
  const sink = `const c=require('crypto'),h=c.createHash('sha256');let n=0;require('net').createServer(s=>{s.on('data',d=>{h.update(d);n+=d.length});s.on('end',()=>{process.stdout.write(h.digest('hex')+' '+n+'\\n');process.exit(0)})}).listen(7200,'${addr}',()=>process.stdout.write('ready\\n'))`;
  const src = `const c=require('crypto'),b=Buffer.alloc(4<<20);for(let i=0;i<b.length;i+=32)c.createHash('sha256').update('x'+i).digest().copy(b,i);const s=require('net').connect(7200,'${addr}',()=>{s.end(b)});s.on('close',()=>{process.stdout.write(c.createHash('sha256').update(b).digest('hex')+' '+b.length+'\\n')})`;
  const run = (m: Machine, js: string) => {
    const p = spawn('ip', ['netns', 'exec', m.ns, 'timeout', '60', process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => (ready = r));
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) ready(); });
    const done = new Promise<string>((res, rej) => p.on('exit', (code) => (code === 0 ? res(out.replace('ready\n', '').trim()) : rej(new Error(`${m.name}: exit ${code}`)))));
    return { isReady, done };
  };
  const rx = run(to, sink);
  await rx.isReady;
  const tx = run(from, src);
  return Promise.all([tx.done, rx.done]);
}

/** 200 datagrams of 1000 octets from `from` to `to` (listening on `addr`); how many arrived with the right content. */
async function udpBurst(from: Machine, to: Machine, addr: string): Promise<number> {
  const sink = `const d=require('dgram').createSocket('udp4');let ok=0;d.on('message',m=>{const i=m.readUInt32BE(0);if(m.length===1000&&m.subarray(4).every(x=>x===(i&255)))ok++});d.bind(7300,'${addr}',()=>process.stdout.write('ready\\n'));setTimeout(()=>{process.stdout.write(ok+'\\n');process.exit(0)},4000)`;
  // Ten bursts of 20, 30 ms apart: bursts give the router runs to coalesce, the gaps keep a
  // loaded machine's queues from dropping many (UDP has no retransmission).
  const src = `const d=require('dgram').createSocket('udp4');let done=0,n=0;const burst=()=>{for(let k=0;k<20;k++,n++){const b=Buffer.alloc(1000,n&255);b.writeUInt32BE(n,0);d.send(b,7300,'${addr}',()=>{if(++done===200)d.close()})}if(n<200)setTimeout(burst,30)};burst()`;
  const p = spawn('ip', ['netns', 'exec', to.ns, 'timeout', '20', process.execPath, '-e', sink], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => (ready = r));
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) ready(); });
  const done = new Promise<number>((res) => p.on('exit', () => res(Number(out.replace('ready\n', '').trim()) || 0)));
  await isReady;
  from.exec('timeout', '10', process.execPath, '-e', src);
  return done;
}
