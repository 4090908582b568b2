/**
 * Names and references as ECR and the OCI distribution spec spell them. Everything a client
 * sends is checked against these before it reaches a key or a file name.
 */
import { isValidDigest } from '../../storage/blob-digest.js';

/** ECR's RepositoryName pattern (service model), 2–256 characters. */
const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

export function isRepositoryName(name: string): boolean {
  return name.length >= 2 && name.length <= 256 && REPOSITORY_NAME.test(name);
}

/**
 * The OCI tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`, with ECR's longer limit of 300
 * (its ImageTag shape), so what the API accepts the registry serves.
 */
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,299}$/;

export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

export { isValidDigest as isDigest };

/** A manifest reference: a digest when it looks like one (`algorithm:hex`), else a tag. */
export function isDigestReference(reference: string): boolean {
  return reference.includes(':');
}

/** `*` matches any run of characters, as in tag mutability exclusion filters. */
export function wildcardMatches(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!value.startsWith(first) || value.length < first.length + last.length) return false;
  if (!value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}
