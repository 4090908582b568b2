/**
 * A one-pass, non-recursive check of a CBOR request body (RFC 8949) before it is decoded:
 * well-formed, nested at most MAX_NESTING_DEPTH deep, and using only the tags the Smithy
 * RPC v2 CBOR protocol defines (1 epoch timestamp, 2/3 bignums, 4 decimal fractions with a
 * small exponent). The decoder underneath (@smithy/core's, the SDK's own) is recursive and
 * expands a decimal fraction's exponent into a string, so a hostile body must never reach
 * it: this scan turns every such body into a SerializationException first.
 * https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
 */
import { MAX_NESTING_DEPTH } from './depth.js';

const BREAK = 0xff;
/** A decimal fraction's exponent beyond this is refused (no model uses bigDecimal here). */
const MAX_DECIMAL_EXPONENT = 1000;

/** Why the body is not acceptable CBOR, or undefined when it is. */
export function cborProblem(body: Uint8Array, maxDepth = MAX_NESTING_DEPTH): string | undefined {
  // Each open container: items still expected (-1 = indefinite, ends with a break).
  const open: number[] = [];
  // The major type of an indefinite-length string whose chunks are being read (else -1).
  let chunksOf = -1;
  let pos = 0;
  let items = 1;
  while (items > 0 || open.length > 0) {
    if (items === 0) {
      items = open.pop()!;
      continue;
    }
    if (pos >= body.length) return 'Unexpected end of CBOR data';
    const initial = body[pos++];
    if (initial === BREAK) {
      if (items !== -1) return 'Unexpected CBOR break';
      if (chunksOf >= 0) chunksOf = -1;
      items = open.pop()!;
      if (items > 0) items--;
      continue;
    }
    const major = initial >> 5;
    const minor = initial & 0x1f;
    if (chunksOf >= 0 && major !== chunksOf) return 'Invalid chunk in indefinite-length string';
    let arg = 0;
    if (minor < 24) arg = minor;
    else if (minor <= 27) {
      const size = 1 << (minor - 24);
      if (pos + size > body.length) return 'Unexpected end of CBOR data';
      arg = 0;
      for (let i = 0; i < size; i++) arg = arg * 256 + body[pos + i];
      pos += size;
    } else if (minor === 31) {
      if (major === 2 || major === 3) {
        if (chunksOf >= 0) return 'Nested indefinite-length string';
        open.push(items);
        items = -1;
        chunksOf = major;
        continue;
      }
      if (major === 4 || major === 5) {
        if (open.length >= maxDepth) return 'CBOR nesting too deep';
        open.push(items);
        items = -1;
        continue;
      }
      return 'Invalid CBOR additional information 31';
    } else return `Reserved CBOR additional information ${minor}`;
    const left = body.length - pos;
    switch (major) {
      case 0:
      case 1:
        break;
      case 2:
      case 3:
        if (arg > left) return 'Unexpected end of CBOR data';
        pos += arg;
        break;
      case 4:
      case 5: {
        const count = major === 4 ? arg : arg * 2;
        if (count > left) return 'Unexpected end of CBOR data';
        if (count > 0) {
          if (open.length >= maxDepth) return 'CBOR nesting too deep';
          if (items > 0) items--;
          open.push(items);
          items = count;
          continue;
        }
        break;
      }
      case 6:
        if (arg === 4) {
          const problem = decimalProblem(body, pos);
          if (problem) return problem;
        } else if (arg !== 1 && arg !== 2 && arg !== 3) return `Unsupported CBOR tag ${arg}`;
        // The tagged item follows and counts as this one.
        continue;
      case 7:
        if (minor === 24 && arg < 32) return 'Invalid CBOR simple value';
        break;
    }
    if (items > 0) items--;
  }
  return pos === body.length ? undefined : 'Unexpected data after the CBOR item';
}

/** Tag 4 must hold [exponent, mantissa] with a small integer exponent. */
function decimalProblem(body: Uint8Array, pos: number): string | undefined {
  if (body[pos] !== 0x82) return 'Invalid CBOR decimal fraction';
  const head = body[pos + 1];
  if (head === undefined || head >> 5 > 1) return 'Invalid CBOR decimal fraction';
  const minor = head & 0x1f;
  let exponent = minor;
  if (minor === 24) exponent = body[pos + 2] ?? 0;
  else if (minor === 25) exponent = ((body[pos + 2] ?? 0) << 8) | (body[pos + 3] ?? 0);
  else if (minor > 25) return 'CBOR decimal fraction exponent out of range';
  return exponent > MAX_DECIMAL_EXPONENT
    ? 'CBOR decimal fraction exponent out of range'
    : undefined;
}
