/**
 * JSON schemas of /computers and /pending: request bodies and query strings (validated, exact 400s)
 * and responses (serialised by them, and published in the OpenAPI document).
 */

const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const isoTime = { type: 'string', format: 'date-time' } as const;
const isoOrNull = { type: ['string', 'null'], format: 'date-time' } as const;
const kind = { enum: ['required', 'available'] } as const;

export const computerSchema = {
  type: 'object',
  properties: {
    name: str,
    macs: { type: 'array', items: str },
    guid: strOrNull,
    profile: str,
    kind: { type: ['string', 'null'], enum: ['required', 'available', null] },
    effectiveKind: { type: ['string', 'null'], enum: ['required', 'available', null] },
    notes: str,
    sourceComputer: strOrNull,
    bootOnce: { type: 'object', properties: { consumedAt: isoOrNull, consumedBy: strOrNull } },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

/** Formats are checked by the service with exact messages (MAC and GUID forms, profile names). */
export const computerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'profile'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 63 },
    macs: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 }, default: [] },
    guid: { type: ['string', 'null'], maxLength: 40 },
    profile: { type: 'string', minLength: 1, maxLength: 64 },
    kind: { type: ['string', 'null'], enum: ['required', 'available', null] },
    notes: { type: 'string', maxLength: 1024 },
    sourceComputer: { type: ['string', 'null'], maxLength: 63 },
  },
} as const;

export const deviceSchema = {
  type: 'object',
  properties: {
    mac: str,
    status: { enum: ['pending', 'rejected'] },
    guid: strOrNull,
    arch: strOrNull,
    archCode: { type: ['integer', 'null'] },
    vendorClass: strOrNull,
    ip: strOrNull,
    firstSeen: isoTime,
    lastSeen: isoTime,
    attempts: { type: 'integer' },
    decidedAt: isoOrNull,
    decidedBy: strOrNull,
    seenBy: strOrNull,
  },
} as const;

/** Optional: approving with no body names the computer pc-<mac> with the unknown policy's profile. */
export const approveBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 63 },
    profile: { type: 'string', minLength: 1, maxLength: 64 },
    kind,
    notes: { type: 'string', maxLength: 1024 },
  },
} as const;

export const importResultSchema = {
  type: 'object',
  properties: { created: { type: 'integer' }, updated: { type: 'integer' }, ignoredColumns: { type: 'array', items: str } },
} as const;

export const importQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: { enum: ['csv', 'yaml'] },
    update: { type: 'boolean', default: false },
    profile: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

export const refParams = {
  type: 'object',
  required: ['ref'],
  properties: { ref: { type: 'string', minLength: 1, maxLength: 64, description: 'computer name, one of its MACs, or its SMBIOS GUID' } },
} as const;

export const macParams = {
  type: 'object',
  required: ['mac'],
  properties: { mac: { type: 'string', minLength: 1, maxLength: 32 } },
} as const;
