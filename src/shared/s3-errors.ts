/**
 * S3's XML error body, which AWS's presigned download URLs (Lambda's Code.Location, ECR's
 * layer URLs, both S3 on AWS) answer with:
 * `<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */

/** A refusal as S3 words it. */
export interface S3Refusal {
  status: number;
  code: string;
  message: string;
}

export const ACCESS_DENIED: S3Refusal = {
  status: 403,
  code: 'AccessDenied',
  message: 'Access Denied',
};
export const EXPIRED: S3Refusal = {
  status: 403,
  code: 'AccessDenied',
  message: 'Request has expired',
};
export const SIGNATURE_MISMATCH: S3Refusal = {
  status: 403,
  code: 'SignatureDoesNotMatch',
  message: 'The request signature we calculated does not match the signature you provided.',
};
export const NO_SUCH_KEY: S3Refusal = {
  status: 404,
  code: 'NoSuchKey',
  message: 'The specified key does not exist.',
};

export function s3ErrorBody(code: string, message: string): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}

/** The status, headers and body of an S3 error answer. */
export function s3ErrorResponse(refusal: S3Refusal): {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
} {
  const body = s3ErrorBody(refusal.code, refusal.message);
  return {
    status: refusal.status,
    headers: { 'content-type': 'application/xml', 'content-length': String(body.length) },
    body,
  };
}
