import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStorage } from '../../storage/index.js';
import { AuthorizationMessages, authorizationMessageOperations } from './authorization-messages.js';
import { callerContext } from '../../../test/helpers/iam.js';

test('DecodeAuthorizationMessage opens what the server sealed and refuses anything else', async () => {
  const storage = await openStorage({ stateDir: '', ephemeral: true });
  try {
    const messages = new AuthorizationMessages(storage.store);
    const ops = authorizationMessageOperations(messages);
    const message = {
      allowed: false,
      explicitDeny: false,
      matchedStatements: { items: [] },
      failures: { items: [] },
      context: {
        principal: { id: 'AIDAEXAMPLE', arn: 'arn:aws:iam::000000000000:user/dev' },
        action: 'ec2:RunInstances',
        resource: 'arn:aws:ec2:us-east-1:000000000000:instance/*',
        conditions: { items: [] },
      },
    };
    const encoded = await messages.encode(message);
    const out = await ops.DecodeAuthorizationMessage({ EncodedMessage: encoded }, callerContext());
    assert.deepEqual(JSON.parse(out.DecodedMessage ?? ''), message);
    const [payload, signature] = encoded.split('.');
    const altered = `${Buffer.from(
      Buffer.from(payload, 'base64url').toString().replace('"allowed":false', '"allowed":true'),
    ).toString('base64url')}.${signature}`;
    for (const bad of [altered, 'not-a-message', '']) {
      await assert.rejects(
        ops.DecodeAuthorizationMessage({ EncodedMessage: bad }, callerContext()),
        {
          name: 'InvalidAuthorizationMessageException',
        },
      );
    }
  } finally {
    await storage.close();
  }
});
