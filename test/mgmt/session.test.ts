/**
 * resolveSession: what a tunnel server gets when a user connects. Built from console
 * commands, as a user would configure it.
 */
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { Engine, newSession } from '../../src/mgmt/engine.js';
import { NullHost } from '../../src/mgmt/host.js';
import { emptyConfig, makeView } from '../../src/mgmt/model.js';
import { RuntimeRegistry } from '../../src/mgmt/runtime.js';
import { SessionResolver } from '../../src/mgmt/session.js';
import { PoolManager, parseRanges } from '../../src/mgmt/pool.js';

let engine: Engine;
let resolver: SessionResolver;
const run = (cmd: string) => engine.run(cmd, newSession());

beforeEach(() => {
  engine = new Engine(emptyConfig(), {
    host: new NullHost(),
    runtimes: new RuntimeRegistry(),
    persist: () => undefined,
    readFile: () => '',
    writeFile: () => undefined,
    log: () => undefined,
  });
  resolver = new SessionResolver(() => makeView(engine.data));
});

describe('session resolver (seed 003 L2TP/IPsec road warriors)', () => {
  beforeEach(async () => {
    await run('/interface l2tp-server server set enabled=yes use-ipsec=yes ipsec-secret=mySecret default-profile=default');
    await run('/ip pool add name=vpn-pool range=198.18.99.2-198.18.99.4');
    await run('/ppp profile set default local-address=198.18.99.1 remote-address=vpn-pool dns-server=198.18.0.53');
    await run('/ppp secret add name=user1 password=123');
    await run('/ppp secret add name=user2 password=234');
  });

  it('gives each user the profile\'s local address and the next free pool address', () => {
    const a = resolver.resolveSession('user1', 'l2tp');
    const b = resolver.resolveSession('user2', 'l2tp');
    assert.equal(a.profile, 'default');
    assert.equal(a.localAddress, '198.18.99.1');
    assert.equal(a.remoteAddress, '198.18.99.2');
    assert.equal(b.remoteAddress, '198.18.99.3');
    assert.deepEqual(a.dns, ['198.18.0.53']);
    assert.equal(a.password, '123');
    assert.equal(a.useEncryption, 'no');
    assert.equal(a.changeTcpMss, true);
  });

  it('reclaims addresses on release and says so when the pool is exhausted', () => {
    const s = [resolver.resolveSession('user1', 'l2tp'), resolver.resolveSession('user2', 'l2tp'), resolver.resolveSession('user1', 'l2tp')];
    assert.deepEqual(s.map((x) => x.remoteAddress), ['198.18.99.2', '198.18.99.3', '198.18.99.4']);
    assert.throws(() => resolver.resolveSession('user2', 'l2tp'), (e: unknown) => e instanceof ConfigError && e.code === 'POOL_ERR_EXHAUSTED' && /ip pool vpn-pool is exhausted/.test(e.message));
    s[1].release();
    s[1].release(); // idempotent
    assert.equal(resolver.resolveSession('user2', 'l2tp').remoteAddress, '198.18.99.3');
  });

  it('falls through to next-pool', async () => {
    await run('/ip pool add name=spill ranges=198.18.98.10');
    await run('/ip pool set vpn-pool next-pool=spill');
    for (let i = 0; i < 3; i++) resolver.resolveSession('user1', 'l2tp');
    assert.equal(resolver.resolveSession('user1', 'l2tp').remoteAddress, '198.18.98.10');
    assert.throws(() => resolver.resolveSession('user1', 'l2tp'), /vpn-pool is exhausted.*next-pool chain vpn-pool -> spill/);
  });

  it('secret beats profile, literal beats pool, and service must match', async () => {
    await run('/ppp secret add name=Laptop service=pptp password=123 local-address=198.18.101.1 remote-address=198.18.101.100 routes="198.18.202.0/24 198.18.1.2 1,198.18.203.0/24"');
    const s = resolver.resolveSession('Laptop', 'pptp');
    assert.equal(s.localAddress, '198.18.101.1');
    assert.equal(s.remoteAddress, '198.18.101.100');
    assert.deepEqual(s.routes, [{ dst: '198.18.202.0/24', gateway: '198.18.1.2', distance: 1 }, { dst: '198.18.203.0/24', gateway: undefined, distance: 1 }]);
    // pptp-server default-profile is default-encryption: encryption required by that profile
    assert.equal(s.profile, 'default-encryption');
    assert.equal(s.useEncryption, 'yes');
    assert.throws(() => resolver.resolveSession('Laptop', 'l2tp'), (e: unknown) => e instanceof ConfigError && e.code === 'SESSION_ERR_NO_SECRET');
    await run('/ppp secret disable user1');
    assert.throws(() => resolver.resolveSession('user1', 'l2tp'), /no enabled \/ppp secret for user user1/);
  });

  it('the secret\'s own profile wins over the default-profile; only-one and timeouts come from it', async () => {
    await run('/ppp profile add name=road remote-address=vpn-pool use-encryption=required only-one=yes session-timeout=1h idle-timeout=5m rate-limit=2M/4M');
    await run('/ppp secret set user1 profile=road remote-address=198.18.99.50');
    const s = resolver.resolveSession('user1', 'l2tp');
    assert.equal(s.profile, 'road');
    assert.equal(s.remoteAddress, '198.18.99.50');
    assert.equal(s.localAddress, undefined);
    assert.equal(s.useEncryption, 'required');
    assert.equal(s.sessionTimeout, 3600);
    assert.equal(s.idleTimeout, 300);
    assert.equal(s.rateLimit, '2M/4M');
    assert.throws(() => resolver.resolveSession('user1', 'l2tp'), (e: unknown) => e instanceof ConfigError && e.code === 'SESSION_ERR_ONLY_ONE');
    s.release();
    resolver.resolveSession('user1', 'l2tp').release();
  });

  it('caller-id restricts where a user may connect from', async () => {
    await run('/ppp secret set user1 caller-id=198.18.7.7');
    assert.throws(() => resolver.resolveSession('user1', 'l2tp', '198.18.7.8'), (e: unknown) => e instanceof ConfigError && e.code === 'SESSION_ERR_CALLER_ID');
    assert.equal(resolver.resolveSession('user1', 'l2tp', '198.18.7.7').callerId, '198.18.7.7');
  });
});

describe('pool allocator', () => {
  it('subnet pools skip network and broadcast addresses', () => {
    assert.deepEqual(parseRanges('198.18.5.0/30'), [{ lo: 0xc6120501, hi: 0xc6120502 }]);
    const p = new PoolManager();
    p.update([{ name: 'n', ranges: '198.18.5.0/30' }]);
    assert.equal(p.allocate('n').address, '198.18.5.1');
    assert.equal(p.allocate('n').address, '198.18.5.2');
    assert.throws(() => p.allocate('n'), /exhausted/);
    assert.equal(p.usedCount('n'), 2);
    assert.throws(() => p.allocate('missing'), (e: unknown) => e instanceof ConfigError && e.code === 'POOL_ERR_NO_SUCH_POOL');
  });
});
