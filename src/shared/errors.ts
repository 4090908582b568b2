/**
 * The one error type that crosses from service code to the wire. Generated error classes
 * (src/api/<svc>/errors.ts) extend it with the code, HTTP status and fault taken from the
 * model; protocol codecs turn it into each protocol's own error body.
 */
export class AwsError extends Error {
  constructor(
    /** Wire error code, e.g. `NoSuchEntity` (query) or `ResourceNotFoundException` (json). */
    readonly code: string,
    readonly status: number,
    readonly senderFault: boolean,
    message: string,
    /** Extra members of the error shape, serialized beside the message. */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }

  /** Response headers the error carries (S3's x-amz-delete-marker on a 404, …). */
  headers?: Record<string, string>;

  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }
}

/** Errors every AWS protocol shares, used by the gateway and codecs (not by the model). */
export const CommonErrors = {
  serialization: (message: string) => new AwsError('SerializationException', 400, true, message),
  malformedQueryString: (message: string) =>
    new AwsError('MalformedQueryString', 400, true, message),
  unknownOperation: (message: string) =>
    new AwsError('UnknownOperationException', 400, true, message),
  invalidAction: (message: string) => new AwsError('InvalidAction', 400, true, message),
  notImplemented: (service: string, operation: string) =>
    new AwsError(
      'NotImplementedException',
      501,
      false,
      `${service}.${operation} is not implemented in Stratus yet`,
    ),
  payloadTooLarge: (limit: number) =>
    new AwsError(
      'RequestEntityTooLargeException',
      413,
      true,
      `Request body exceeds the ${limit} byte limit`,
    ),
  internal: (message: string) => new AwsError('InternalFailure', 500, false, message),
} as const;
