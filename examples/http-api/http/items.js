// The items functions behind the HTTP API: `POST /items` stores the JSON body as an S3
// object under a new id, `GET /items/{id}` reads it back (404 when there is none). One
// file, two handlers; each route's function names its own.
/* global require, exports, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS Lambda handler */
const { randomUUID } = require('node:crypto');
const { S3Client, PutObjectCommand, GetObjectCommand } = require('@aws-sdk/client-s3');

const BUCKET = process.env.ITEMS_BUCKET;
const s3 = new S3Client({ forcePathStyle: true });

const json = (statusCode, body) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

exports.create = async (event) => {
  let item;
  try {
    item = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body);
  } catch {
    return json(400, { message: 'the body must be JSON' });
  }
  const id = randomUUID();
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: `items/${id}`, Body: JSON.stringify(item) }),
  );
  return json(201, { id, ...item });
};

exports.get = async (event) => {
  const id = event.pathParameters.id;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `items/${id}` }));
    return json(200, { id, ...JSON.parse(await got.Body.transformToString()) });
  } catch (err) {
    if (err.name === 'NoSuchKey') return json(404, { message: `no item ${id}` });
    throw err;
  }
};
