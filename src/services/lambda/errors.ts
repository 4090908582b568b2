/**
 * Lambda's error bodies carry `"Type": "User"` beside the message for caller mistakes
 * (`{"Type":"User","message":"..."}`), so every error here is built with that field.
 * Errors the model does not list (AccessDeniedException, RequestEntityTooLargeException,
 * ValidationException raised by the service itself) are plain AwsErrors with AWS's codes.
 */
import {
  InvalidParameterValueException,
  PreconditionFailedException,
  ResourceConflictException,
  ResourceNotFoundException,
} from '../../api/lambda/errors.js';
import { AwsError } from '../../shared/errors.js';

const USER = { Type: 'User' } as const;

export const invalidParameter = (message: string): InvalidParameterValueException =>
  new InvalidParameterValueException(message, USER);

export const notFound = (message: string): ResourceNotFoundException =>
  new ResourceNotFoundException(message, USER);

export const conflict = (message: string): ResourceConflictException =>
  new ResourceConflictException(message, USER);

export const functionNotFound = (arn: string): ResourceNotFoundException =>
  notFound(`Function not found: ${arn}`);

/** "The resource you requested does not exist." — AWS's generic not-found text. */
export const resourceMissing = (): ResourceNotFoundException =>
  notFound('The resource you requested does not exist.');

export const revisionMismatch = (): PreconditionFailedException =>
  new PreconditionFailedException(
    'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    USER,
  );

/** AWS's own model-validation wording, for constraints the model cannot express. */
export function validationException(violations: string[]): AwsError {
  const n = violations.length;
  return new AwsError(
    'ValidationException',
    400,
    true,
    `${n} validation error${n === 1 ? '' : 's'} detected: ${violations.join('; ')}`,
  );
}

export const requestTooLarge = (message: string): AwsError =>
  new AwsError('RequestEntityTooLargeException', 413, true, message, USER);

export const accessDenied = (principalArn: string, action: string, resource: string): AwsError =>
  new AwsError(
    'AccessDeniedException',
    403,
    true,
    `User: ${principalArn} is not authorized to perform: lambda:${action} on resource: ${resource} because no resource-based policy allows the lambda:${action} action`,
  );
