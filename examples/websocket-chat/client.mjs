// Two chat clients: alice and bob connect, alice sends, bob receives through the chat
// function's PostToConnection; then bob leaves and posting to his connection is
// GoneException. Exits non-zero when anything differs.
//
//   node examples/websocket-chat/client.mjs <ws-url> <endpoint>
/* global process, console, setTimeout */
import WebSocket from 'ws';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';

const [url, endpoint] = process.argv.slice(2);

function connect(name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const inbox = [];
    const waiters = [];
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const w = waiters.shift();
      if (w) w(msg);
      else inbox.push(msg);
    });
    ws.next = () =>
      inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.name = name;
  });
}

const withTimeout = (p, what) =>
  Promise.race([
    p,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), 60_000)),
  ]);

const alice = await connect('alice');
const bob = await connect('bob');
alice.send(JSON.stringify({ action: 'sendmessage', message: 'hello bob' }));
const got = await withTimeout(bob.next(), 'bob receiving');
console.log('bob received:', JSON.stringify(got));
if (got.message !== 'hello bob') throw new Error(`unexpected message ${JSON.stringify(got)}`);
// Alice learns the other connection's id from the message, then bob leaves.
const bobId = await new Promise((resolve) => {
  bob.send(JSON.stringify({ action: 'sendmessage', message: 'bye' }));
  alice.next().then((m) => resolve(m.from));
});
await new Promise((resolve) => {
  bob.once('close', resolve);
  bob.close();
});
const api = new ApiGatewayManagementApiClient({
  endpoint,
  region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
});
try {
  await api.send(new PostToConnectionCommand({ ConnectionId: bobId, Data: 'still there?' }));
  throw new Error('posting to a closed connection succeeded');
} catch (err) {
  if (err.name !== 'GoneException') throw err;
  console.log(
    `posting to bob's closed connection: ${err.name} (HTTP ${err.$metadata.httpStatusCode})`,
  );
}
alice.close();
api.destroy();
