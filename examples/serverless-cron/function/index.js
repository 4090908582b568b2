// The hourly job: writes a small report object to S3, named after the scheduled time.
// The AWS SDK v3 comes with the Node.js runtime (on AWS and in Stratus); the endpoint and
// credentials come from the function's environment.
// A CommonJS handler: NODE_PATH (the runtime's SDK) applies to require only.
const { S3Client, PutObjectCommand, ListObjectsV2Command } = require('@aws-sdk/client-s3');

const s3 = new S3Client({ forcePathStyle: true });

exports.handler = async (event) => {
  const bucket = process.env.REPORT_BUCKET;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'reports/' }));
  const key = `reports/${event.time}.json`;
  const report = {
    scheduledTime: event.time,
    rule: event.resources[0],
    previousReports: listed.KeyCount ?? 0,
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(report),
      ContentType: 'application/json',
    }),
  );
  console.log(`report written to s3://${bucket}/${key}`);
  return report;
};
