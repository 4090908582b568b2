import crypto from 'node:crypto';
import { parseSignature, verifySignature, isSigV4Failure } from './src/protocol/sigv4.ts';
const headers: Record<string,string> = {
 host: '127.0.0.1:4566', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.PutLogEvents', 'user-agent': 'aws-sdk-js/3', 'amz-sdk-invocation-id': 'abc', 'amz-sdk-request': 'attempt=1; max=3',
 'x-amz-date': '20261128T000000Z', 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
 authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/logs/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=9ba52034d6bc4975f58bcd7dee6ff2bbbbc564e0a853bccd540731cfba8d3955' };
const req = { method: 'POST', path: '/', rawQuery: '', headers };
function bench(name: string, fn: () => unknown){ for(let r=0;r<3;r++){const N=200000;const t0=process.cpuUsage();for(let i=0;i<N;i++)fn();const t1=process.cpuUsage(t0); if(r==2) console.log(name, ((t1.user+t1.system)/N).toFixed(3), 'µs cpu');} }
bench('ref hash', () => crypto.hash('sha256', 'abc'.repeat(50), 'hex'));
bench('ref createHmac', () => crypto.createHmac('sha256', 'k').update('abc'.repeat(50)).digest('hex'));
bench('parse', () => parseSignature(req));
const p = parseSignature(req); if (!p || isSigV4Failure(p)) throw 1;
const now = Date.parse('2026-11-28T00:00:10Z');
bench('verify', () => verifySignature(req, Buffer.alloc(0), p, 'SECRET', now));
bench('parse+verify', () => { const q = parseSignature(req) as typeof p; return verifySignature(req, Buffer.alloc(0), q, 'SECRET', now); });
