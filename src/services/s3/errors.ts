/**
 * S3's errors that the model does not declare, with AWS's messages.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
import { NoSuchBucket, NoSuchKey, NoSuchUpload } from '../../api/s3/errors.js';
import { AwsError } from '../../shared/errors.js';

const e = (code: string, status: number, message: string, fields: Record<string, unknown> = {}) =>
  new AwsError(code, status, status < 500, message, fields);

export const S3Errors = {
  noSuchBucket: (bucket: string) =>
    new NoSuchBucket('The specified bucket does not exist', { BucketName: bucket }),
  noSuchKey: (key: string) => new NoSuchKey('The specified key does not exist.', { Key: key }),
  noSuchVersion: (key: string, versionId: string) =>
    e('NoSuchVersion', 404, 'The specified version does not exist.', {
      Key: key,
      VersionId: versionId,
    }),
  invalidVersionId: (versionId: string) =>
    e('InvalidArgument', 400, 'Invalid version id specified', {
      ArgumentName: 'versionId',
      ArgumentValue: versionId,
    }),
  /** A request that names a delete marker by version id (GET, HEAD, tagging). */
  deleteMarkerMethod: (method: string, versionId: string) =>
    e('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', {
      Method: method,
      ResourceType: 'DeleteMarker',
    }).withHeaders({
      'x-amz-delete-marker': 'true',
      'x-amz-version-id': versionId,
      Allow: 'DELETE',
    }),
  copyFromDeleteMarker: () =>
    e(
      'InvalidRequest',
      400,
      'The source of a copy request may not specifically refer to a delete marker by version id.',
    ),
  noSuchUpload: (uploadId: string) =>
    new NoSuchUpload(
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    ),
  bucketNotEmpty: (bucket: string) =>
    e('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
      BucketName: bucket,
    }),
  invalidBucketName: (bucket: string) =>
    e('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: bucket }),
  invalidLocationConstraint: (constraint: string) =>
    e('InvalidLocationConstraint', 400, 'The specified location-constraint is not valid', {
      LocationConstraint: constraint,
    }),
  illegalLocationConstraint: (constraint: string | undefined) =>
    e(
      'IllegalLocationConstraintException',
      400,
      constraint === undefined
        ? 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.'
        : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    ),
  preconditionFailed: (condition: string) =>
    e('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', {
      Condition: condition,
    }),
  notModified: () => e('NotModified', 304, 'Not Modified'),
  invalidRange: (size: number, range: string) =>
    e('InvalidRange', 416, 'The requested range is not satisfiable', {
      ActualObjectSize: size,
      RangeRequested: range,
    }),
  missingContentLength: () =>
    e('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.'),
  entityTooLarge: (size: number, max: number) =>
    e('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: size,
      MaxSizeAllowed: max,
    }),
  entityTooSmall: (size: number) =>
    e('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', {
      ProposedSize: size,
      MinSizeAllowed: 5 * 1024 * 1024,
    }),
  invalidPart: (part: number, etag: string | undefined) =>
    e(
      'InvalidPart',
      400,
      "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      { PartNumber: part, ETag: etag },
    ),
  invalidPartOrder: () =>
    e(
      'InvalidPartOrder',
      400,
      'The list of parts was not in ascending order. Parts must be ordered by part number.',
    ),
  malformedXml: () =>
    e(
      'MalformedXML',
      400,
      'The XML you provided was not well-formed or did not validate against our published schema',
    ),
  invalidArgument: (message: string, name?: string, value?: string) =>
    e('InvalidArgument', 400, message, name ? { ArgumentName: name, ArgumentValue: value } : {}),
  invalidRequest: (message: string) => e('InvalidRequest', 400, message),
  invalidTag: (message: string) => e('InvalidTag', 400, message),
  noSuchTagSet: () => e('NoSuchTagSet', 404, 'The TagSet does not exist'),
  noSuchConfiguration: () =>
    e('NoSuchConfiguration', 404, 'The specified configuration does not exist.'),
  tooManyConfigurations: () =>
    e(
      'TooManyConfigurations',
      400,
      'You are attempting to create a new configuration but have already reached the 1,000-configuration limit.',
    ),
  noSuchCors: (bucket: string) =>
    e('NoSuchCORSConfiguration', 404, 'The CORS configuration does not exist', {
      BucketName: bucket,
    }),
  noSuchPolicy: (bucket: string) =>
    e('NoSuchBucketPolicy', 404, 'The bucket policy does not exist', { BucketName: bucket }),
  noSuchLifecycle: (bucket: string) =>
    e('NoSuchLifecycleConfiguration', 404, 'The lifecycle configuration does not exist', {
      BucketName: bucket,
    }),
  noObjectLock: (bucket: string) =>
    e(
      'ObjectLockConfigurationNotFoundError',
      404,
      'Object Lock configuration does not exist for this bucket',
      { BucketName: bucket },
    ),
  noOwnershipControls: (bucket: string) =>
    e('OwnershipControlsNotFoundError', 404, 'The bucket ownership controls were not found', {
      BucketName: bucket,
    }),
  malformedPolicy: () =>
    e('MalformedPolicy', 400, "Policies must be valid JSON and the first byte must be '{'"),
  invalidPartNumber: () =>
    e('InvalidPartNumber', 416, 'The requested partnumber is not satisfiable'),
  notImplementedHeader: (header: string) =>
    e(
      'NotImplemented',
      501,
      'A header you provided implies functionality that is not implemented',
      {
        Header: header,
      },
    ),
  accessDenied: () => e('AccessDenied', 403, 'Access Denied'),
  keyTooLong: () => e('KeyTooLongError', 400, 'Your key is too long'),
} as const;
