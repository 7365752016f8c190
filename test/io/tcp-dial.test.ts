/**
 * TcpDial: a TCP connection whose socket the addon made with SO_MARK before its SYN
 * (pptp(8) --rtmark for the control connection), handed to Node's net.Socket. On
 * loopback: the mark is on the socket (ss shows it), data flows both ways through the
 * net.Socket, destroy() closes the fd, a refused connect and bad arguments are typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { TcpDial } from '../../src/io/native.js';

async function settle(d: TcpDial): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const r = d.result();
    if (r !== undefined) return r;
    await new Promise((res) => setTimeout(res, 1));
  }
  throw new Error('connect never finished');
}

async function echoServer(): Promise<{ srv: net.Server; port: number; peers: net.Socket[] }> {
  const peers: net.Socket[] = [];
  const srv = net.createServer((s) => {
    peers.push(s);
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('error', () => {});
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  return { srv, port: (srv.address() as net.AddressInfo).port, peers };
}

test('a marked connection: the socket carries the mark, net.Socket reads and writes it, destroy() closes the fd', async () => {
  const { srv, port, peers } = await echoServer();
  try {
    const d = TcpDial.start('127.0.0.1', port, { mark: 42, address: '127.0.0.1' });
    assert.equal(await settle(d), 0);
    const fd = d.handOver();
    const inode = readlinkSync(`/proc/self/fd/${fd}`);
    assert.match(inode, /^socket:\[\d+\]$/);
    const sock = new net.Socket({ fd });
    // The kernel's view of the connection: established, with fwmark 42 (0x2a).
    const ss = execFileSync('ss', ['-tne', 'dst', `127.0.0.1:${port}`], { encoding: 'utf8' });
    assert.match(ss, /ESTAB.*fwmark:0x2a/);
    assert.equal(sock.remotePort, port);
    const got = new Promise<string>((res) => sock.once('data', (b) => res(b.toString())));
    sock.write('hello');
    assert.equal(await got, 'echo:hello');
    // And the other way: the server talks first.
    const got2 = new Promise<string>((res) => sock.once('data', (b) => res(b.toString())));
    peers[0].write('from server');
    assert.equal(await got2, 'from server');
    const closed = new Promise<void>((res) => sock.once('close', () => res()));
    sock.destroy();
    await closed;
    let now: string | undefined;
    try { now = readlinkSync(`/proc/self/fd/${fd}`); } catch { now = undefined; }
    assert.notEqual(now, inode, 'the fd was closed with the net.Socket');
    assert.throws(() => d.result(), { code: 'IO_ERR_CLOSED' });
  } finally {
    for (const p of peers) p.destroy();
    srv.close();
  }
});

test('nobody listening: the connect fails with ECONNREFUSED and the fd is given back', async () => {
  const { srv, port } = await echoServer();
  srv.close(); // a port that was just free again
  await new Promise((res) => setTimeout(res, 10));
  const d = TcpDial.start('127.0.0.1', port, { mark: 7 });
  const inode = readlinkSync(`/proc/self/fd/${d.fd}`);
  assert.equal(await settle(d), 111); // ECONNREFUSED
  let now: string | undefined;
  try { now = readlinkSync(`/proc/self/fd/${d.fd}`); } catch { now = undefined; }
  assert.notEqual(now, inode, 'the fd was closed');
  assert.throws(() => d.handOver(), { code: 'IO_ERR_CLOSED' });
  d.close(); // idempotent
});

test('close() before the connect finished gives the socket back', () => {
  const d = TcpDial.start('127.0.0.1', 9, { mark: 1 });
  d.close();
  d.close();
  assert.throws(() => d.result(), { code: 'IO_ERR_CLOSED' });
});

test('bad arguments and impossible binds are typed errors', () => {
  for (const p of [0, 65536, 1.5]) assert.throws(() => TcpDial.start('127.0.0.1', p), { code: 'IO_ERR_BAD_ARG' });
  assert.throws(() => TcpDial.start('127.0.0.1', 80, { mark: -1 }), { code: 'IO_ERR_BAD_ARG' });
  // 198.18.255.254 is on no interface here: bind() fails (EADDRNOTAVAIL).
  assert.throws(() => TcpDial.start('127.0.0.1', 80, { address: '198.18.255.254' }), (e: Error & { code?: string }) => e.code === 'IO_ERR_SYSCALL' && /bind/.test(e.message));
});
