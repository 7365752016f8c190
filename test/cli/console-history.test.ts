import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactHistoryLine } from '../../src/cli/console.js';

test('console history on disk never holds a secret value', () => {
  assert.equal(
    redactHistoryLine('/ppp secret add name=ex password="lkjrht 1" local-address=10.0.0.1'),
    '/ppp secret add name=ex password=*** local-address=10.0.0.1',
  );
  assert.equal(redactHistoryLine('set 0 ipsec-secret=mySecret use-ipsec=yes'), 'set 0 ipsec-secret=*** use-ipsec=yes');
  // The console accepts abbreviated property names; so does the redaction.
  assert.equal(redactHistoryLine('add user=u pass=p123 connect-to=198.18.0.1'), 'add user=u pass=*** connect-to=198.18.0.1');
  assert.equal(redactHistoryLine('/interface pptp-client print detail'), '/interface pptp-client print detail');
});
