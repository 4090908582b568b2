/**
 * Request validators: required request parameters, and the body against the method's
 * request model for its content type (JSON Schema draft 4, as API Gateway's models are).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
 */
import Ajv04Module, { type ValidateFunction } from 'ajv-draft-04';
import type { Method } from '../../../api/apigateway/types.js';
import type { ApiDefinition } from '../store.js';
import type { IncomingRequest } from './proxy-event.js';
import { header } from './integrations.js';

// A CommonJS module whose `module.exports` is the class and also has it as `.default`.
const Ajv04 = Ajv04Module.default;
const ajv = new Ajv04({ allErrors: false, strict: false, validateSchema: false });
const compiled = new Map<string, ValidateFunction | 'invalid'>();

function validator(schema: string): ValidateFunction | 'invalid' {
  let v: ValidateFunction | 'invalid' | undefined = compiled.get(schema);
  if (!v) {
    try {
      const parsed = JSON.parse(schema) as Record<string, unknown>;
      // Models name draft 4 by `$schema`; ajv must not fetch it.
      delete parsed.$schema;
      v = ajv.compile(parsed);
    } catch {
      v = 'invalid';
    }
    if (compiled.size > 1000) {
      compiled.clear();
      // ajv keeps every schema it compiled (and refuses an `id` it has seen): all of them go.
      ajv.removeSchema();
    }
    compiled.set(schema, v);
  }
  return v;
}

/** AWS's 400 message, or undefined when the request passes the method's validator. */
export function validateRequest(
  def: ApiDefinition,
  method: Method,
  request: IncomingRequest,
  pathParameters: Record<string, string>,
): { type: 'BAD_REQUEST_PARAMETERS' | 'BAD_REQUEST_BODY'; message: string } | undefined {
  const rv =
    method.requestValidatorId === undefined ? undefined : def.validators[method.requestValidatorId];
  if (!rv) return undefined;
  if (rv.validateRequestParameters) {
    const missing: string[] = [];
    for (const [name, required] of Object.entries(method.requestParameters ?? {})) {
      if (!required) continue;
      const m =
        /^method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.(.+)$/.exec(
          name,
        );
      if (!m?.[1] || !m[2]) continue;
      const where = m[1];
      const key = m[2];
      const present =
        where === 'path'
          ? pathParameters[key] !== undefined
          : where.endsWith('header')
            ? header(request, key.toLowerCase()) !== undefined
            : request.query.some(([k]) => k === key);
      if (!present) missing.push(key);
    }
    if (missing.length > 0) {
      return {
        type: 'BAD_REQUEST_PARAMETERS',
        message: `Missing required request parameters: [${missing.join(', ')}]`,
      };
    }
  }
  if (rv.validateRequestBody) {
    const models = method.requestModels ?? {};
    const type =
      (header(request, 'content-type') ?? 'application/json').split(';')[0]?.trim() ?? '';
    const modelName =
      models[type] ?? models.$default ?? (Object.keys(models).length === 1 ? undefined : undefined);
    const schema = modelName === undefined ? undefined : def.models[modelName]?.schema;
    if (schema !== undefined) {
      const v = validator(schema);
      let body: unknown;
      try {
        body = JSON.parse(request.body.toString('utf8'));
      } catch {
        return { type: 'BAD_REQUEST_BODY', message: 'Invalid request body' };
      }
      if (v === 'invalid' || !v(body)) {
        return { type: 'BAD_REQUEST_BODY', message: 'Invalid request body' };
      }
    }
  }
  return undefined;
}
