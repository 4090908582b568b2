// The chat function behind the WebSocket API: $connect and $disconnect keep the list of
// connections (one S3 object per connection id), `sendmessage` posts the message to every
// other connection through the @connections API; a connection that is gone is forgotten.
/* global require, exports */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS Lambda handler */
const {
  S3Client,
  PutObjectCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
} = require('@aws-sdk/client-s3');
const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require('@aws-sdk/client-apigatewaymanagementapi');

const BUCKET = process.env.CONNECTIONS_BUCKET;
// On Stratus, AWS_ENDPOINT_URL reaches every service; on AWS the @connections endpoint is
// https://<domainName>/<stage>.
const s3 = new S3Client({ forcePathStyle: true });

exports.handler = async (event) => {
  const { routeKey, connectionId, domainName, stage } = event.requestContext;
  const key = `connections/${connectionId}`;
  if (routeKey === '$connect') {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '' }));
    return { statusCode: 200 };
  }
  if (routeKey === '$disconnect') {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    return { statusCode: 200 };
  }
  const { message } = JSON.parse(event.body);
  const endpoint = process.env.AWS_ENDPOINT_URL ?? `https://${domainName}/${stage}`;
  const api = new ApiGatewayManagementApiClient({ endpoint });
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'connections/' }),
  );
  const data = JSON.stringify({ from: connectionId, message });
  let delivered = 0;
  for (const object of listed.Contents ?? []) {
    const to = object.Key.slice('connections/'.length);
    if (to === connectionId) continue;
    try {
      await api.send(new PostToConnectionCommand({ ConnectionId: to, Data: data }));
      delivered++;
    } catch (err) {
      if (err.name !== 'GoneException') throw err;
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: object.Key }));
    }
  }
  return { statusCode: 200, body: JSON.stringify({ delivered }) };
};
