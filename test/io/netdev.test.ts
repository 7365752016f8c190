import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsPair, ip } from './helpers/netns.js';
import { addAddress, delAddress, setMtu, setTxQueueLen, setUp } from '../../src/io/netdev.js';
import { ConfigError, IoError } from '../../src/errors.js';

test('netdev sets MTU, txqueuelen, up/down and point-to-point addresses; bad values are refused before `ip` runs', async () => {
  const net = NetnsPair.create('ndev');
  try {
    const netns = net.a;
    await setMtu('veth0', 1400, { netns });
    await setTxQueueLen('veth0', 1000, { netns });
    await addAddress('veth0', '198.19.0.1', { peer: '198.19.0.2', netns });
    await addAddress('veth0', '198.19.1.1', { prefix: 24, netns });
    let show = ip(['addr', 'show', 'dev', 'veth0'], netns);
    assert.match(show, /mtu 1400/);
    assert.match(show, /qlen 1000/);
    assert.match(show, /inet 198\.19\.0\.1 peer 198\.19\.0\.2\/32/);
    assert.match(show, /inet 198\.19\.1\.1\/24/);
    await setUp('veth0', false, { netns });
    assert.doesNotMatch(ip(['link', 'show', 'dev', 'veth0'], netns), /[<,]UP[,>]/);
    await setUp('veth0', true, { netns });
    assert.match(ip(['link', 'show', 'dev', 'veth0'], netns), /[<,]UP[,>]/);
    await delAddress('veth0', '198.19.0.1', { peer: '198.19.0.2', netns });
    show = ip(['addr', 'show', 'dev', 'veth0'], netns);
    assert.doesNotMatch(show, /198\.19\.0\.1/);

    await assert.rejects(setMtu('veth0', 20, { netns }), ConfigError);
    await assert.rejects(setMtu('veth0; reboot', 1400, { netns }), ConfigError);
    await assert.rejects(addAddress('veth0', '198.19.0.999', { netns }), ConfigError);
    await assert.rejects(setUp('nosuchdev0', true, { netns }), (e: unknown) => e instanceof IoError && e.code === 'IO_ERR_LINK');
  } finally {
    net.destroy();
  }
});
