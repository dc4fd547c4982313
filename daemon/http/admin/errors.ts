/**
 * One error shape for the whole admin API: `{statusCode, code, error, message, problems?}`. Schema
 * violations become exact sentences naming the field (`body.responseDelaySeconds must be <= 60, found 61`);
 * a body over the limit says its size and the limit. Services throw AdminError; the API answers it as
 * is and the CLI prints the same message and problems.
 */
import { STATUS_CODES } from 'node:http';
import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../log.js';

// ajv and ajv-formats are CommonJS with a default export.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export type AdminErrorCode = 'ERR_VALIDATION' | 'ERR_IMPORT' | 'ERR_NOT_FOUND' | 'ERR_CONFLICT' | 'ERR_BODY_TOO_LARGE';

/** A refusal a person can act on: the HTTP status, a code, one sentence, and every problem found. */
export class AdminError extends Error {
  constructor(readonly status: 400 | 404 | 409 | 413, readonly code: AdminErrorCode, message: string, readonly problems: string[] = []) {
    super(message);
    this.name = 'AdminError';
  }
}

/** `512 bytes`, `64 kB`, `1.2 MB` (binary units, one decimal where it matters). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  const [v, unit] = n < 1024 * 1024 ? [n / 1024, 'kB'] : [n / (1024 * 1024), 'MB'];
  const text = v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
  return `${text} ${unit}`;
}

/** The one sentence for a body over a limit, from the API and from the CLI before it sends. */
export function bodyTooLargeMessage(size: number | null, limit: number): string {
  if (size === null) return `request body is over the limit of ${formatBytes(limit)}`;
  const [s, l] = [formatBytes(size), formatBytes(limit)];
  // Just over the limit both round alike: then the exact counts say what is wrong.
  return s === l ? `request body is ${size} bytes; the limit is ${limit} bytes (${l})` : `request body is ${s}; the limit is ${l}`;
}

export function makeAjv(coerce: boolean) {
  // Bodies are not coerced and unknown keys are errors, not silently dropped (fastify's default).
  const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: coerce, removeAdditional: false, strict: false, allowUnionTypes: true });
  addFormats(ajv, ['date-time']);
  return ajv;
}

export function errorBody(statusCode: number, code: string, message: string, problems?: string[]) {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(problems ? { problems } : {}) };
}

function pathOf(context: string, instancePath: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : `${acc}.${p}`), context);
}

function found(v: unknown): string {
  if (v === undefined) return '';
  const text = JSON.stringify(v) ?? String(v);
  return `, found ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}

function valueAt(root: unknown, instancePath: string): unknown {
  let cur = root;
  for (const k of instancePath.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** One sentence per ajv error. */
export function describeValidation(errors: ErrorObject[], context: string, data: unknown): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const p = e.params as Record<string, unknown>;
    const at = pathOf(context, e.instancePath);
    const v = found(valueAt(data, e.instancePath));
    let line: string;
    switch (e.keyword) {
      case 'required': line = `${at}.${String(p.missingProperty)} is required`; break;
      case 'additionalProperties': line = `${at}.${String(p.additionalProperty)} is not a known property`; break;
      case 'type': line = `${at} must be ${String(p.type).replace(',', ' or ')}${v}`; break;
      case 'enum': line = `${at} must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}${v}`; break;
      case 'minimum': case 'maximum': line = `${at} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}${v}`; break;
      case 'minLength': case 'maxLength': line = `${at} must have ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters${v}`; break;
      case 'minItems': case 'maxItems': line = `${at} must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} items`; break;
      case 'minProperties': line = `${at} must set at least ${String(p.limit)} propert${p.limit === 1 ? 'y' : 'ies'}`; break;
      case 'pattern': line = `${at} must match ${String(p.pattern)}${v}`; break;
      case 'format': line = `${at} must be a ${String(p.format)}${p.format === 'date-time' ? ' (ISO 8601, e.g. 2025-01-31T12:00:00Z)' : ''}${v}`; break;
      default: line = `${at} ${e.message ?? e.keyword}`;
    }
    if (!out.includes(line)) out.push(line);
  }
  return out;
}

/** The admin API's error handler: AdminError and schema failures are the client's; the rest is logged. */
export function adminErrorHandler(logger: Logger) {
  return (err: FastifyError & { validation?: ErrorObject[]; validationContext?: string }, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AdminError) {
      return reply.code(err.status).send(errorBody(err.status, err.code, err.message, err.problems.length ? err.problems : undefined));
    }
    if (err.validation) {
      const context = err.validationContext ?? 'body';
      const data = context === 'body' ? req.body : context === 'querystring' ? req.query : context === 'params' ? req.params : req.headers;
      const problems = describeValidation(err.validation, context, data);
      return reply.code(400).send(errorBody(400, 'ERR_VALIDATION', problems[0] ?? 'invalid request', problems));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // fastify refuses on Content-Length before reading, or counts a chunked body up to the limit.
      const length = Number(req.headers['content-length']);
      const message = bodyTooLargeMessage(Number.isSafeInteger(length) ? length : null, req.routeOptions.bodyLimit);
      return reply.code(413).send(errorBody(413, 'ERR_BODY_TOO_LARGE', message));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(errorBody(status, err.code ?? 'ERR_REQUEST', err.message));
    logger.error({ err: err.message, url: req.url, method: req.method }, 'admin API error');
    return reply.code(500).send(errorBody(500, 'ERR_INTERNAL', 'internal error (logged)'));
  };
}
