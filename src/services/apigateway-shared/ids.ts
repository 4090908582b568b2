/**
 * API Gateway's identifiers: REST, HTTP and WebSocket API ids share one space on AWS (one
 * `<api-id>.execute-api` host), so both services draw them here, random, in AWS's form:
 * 10 lowercase alphanumeric characters (`a1b2c3d4e5`). Resources, authorizers, API keys,
 * usage plans, deployments and routes use shorter or equal ids of the same alphabet.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random lowercase alphanumeric characters. */
export function randomId(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  // Rejection sampling keeps every character equally likely (252 = 7 × 36).
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    if (bytes[i] < 252) out += ALPHABET[bytes[i] % 36];
  }
  return out.length === length ? out : out + randomId(length - out.length);
}

/** An API id (REST, HTTP or WebSocket): 10 characters, as AWS's. */
export const apiId = (): string => randomId(10);

/** Whether `id` has the form of an API id (cheap check before any lookup). */
export const isApiIdForm = (id: string): boolean => /^[a-z0-9]{10}$/.test(id);
