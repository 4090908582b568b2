// Serverless thumbnail creation: an image uploaded under uploads/ in the source bucket
// becomes a JPEG thumbnail (THUMBNAIL_WIDTH pixels wide, 128 by default) in the
// destination bucket, and its name, size and creation date become a row of a DynamoDB
// table. CommonJS on purpose: the Node.js runtime's SDK v3 is found through NODE_PATH,
// which `import` does not read.
const sharp = require('sharp');
const { S3Client, GetObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');

// Path-style addressing where an endpoint is configured (Stratus, or any local endpoint).
const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
const dynamodb = new DynamoDBClient({});
const DEST_BUCKET = process.env.DEST_BUCKET;
const TABLE = process.env.TABLE_NAME;
const WIDTH = Number(process.env.THUMBNAIL_WIDTH || 128);

exports.handler = async (event) => {
  const done = [];
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    // S3 event keys are URL-encoded, spaces as '+'.
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    const name = key.replace(/^uploads\//, '');
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const image = Buffer.from(await object.Body.transformToByteArray());
    const { width, height, format } = await sharp(image).metadata();
    const thumbnail = await sharp(image).resize({ width: WIDTH }).jpeg().toBuffer();
    const thumbnailKey = `thumbnails/${name.replace(/\.[^./]+$/, '')}.jpg`;
    await s3.send(
      new PutObjectCommand({
        Bucket: DEST_BUCKET,
        Key: thumbnailKey,
        Body: thumbnail,
        ContentType: 'image/jpeg',
      }),
    );
    await dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          name: { S: name },
          size: { N: String(image.length) },
          createdAt: { S: record.eventTime },
          format: { S: format },
          width: { N: String(width) },
          height: { N: String(height) },
          thumbnail: { S: `s3://${DEST_BUCKET}/${thumbnailKey}` },
        },
      }),
    );
    console.log(`thumbnail ${bucket}/${key} -> ${DEST_BUCKET}/${thumbnailKey}`);
    done.push(thumbnailKey);
  }
  return { thumbnails: done };
};
