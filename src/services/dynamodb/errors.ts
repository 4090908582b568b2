/**
 * DynamoDB's errors with its exact messages. ValidationException is not in the service
 * model's error list (every operation can answer it), so it is built here.
 */
import {
  ConditionalCheckFailedException,
  ResourceInUseException,
  ResourceNotFoundException,
} from '../../api/dynamodb/errors.js';
import type { AttributeValue } from '../../api/dynamodb/types.js';
import { AwsError } from '../../shared/errors.js';

export const validation = (message: string): AwsError =>
  new AwsError('ValidationException', 400, true, message);

/** "One or more parameter values were invalid: …", AWS's prefix for bad item content. */
export const invalidParameter = (detail: string): AwsError =>
  validation(`One or more parameter values were invalid: ${detail}`);

export const tableNotFound = (name?: string): ResourceNotFoundException =>
  new ResourceNotFoundException(
    name === undefined
      ? 'Requested resource not found'
      : `Requested resource not found: Table: ${name} not found`,
  );

export const tableExists = (name: string): ResourceInUseException =>
  new ResourceInUseException(`Table already exists: ${name}`);

export const keyMismatch = (): AwsError =>
  validation('The provided key element does not match the schema');

export const conditionFailed = (
  item?: Record<string, AttributeValue>,
): ConditionalCheckFailedException =>
  new ConditionalCheckFailedException('The conditional request failed', item ? { Item: item } : {});
