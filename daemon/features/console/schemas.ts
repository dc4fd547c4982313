/**
 * JSON schemas of the console's API: the approve body and the MAC and computer parameters are the
 * admin API's own, so a form in the page is refused exactly as the same request to the API would be.
 */
import { approveBody as apiApproveBody, computerBody as apiComputerBody, macParams as apiMacParams, refParams as apiRefParams } from '../inventory/schemas.js';
import { groupParams as apiGroupParams, haltBody as apiHaltBody } from '../rollout/api.js';
import { eventsQuery } from '../events/schemas.js';
import { settingsBody as apiSettingsBody } from '../settings/schemas.js';
import { clientParams as apiClientParams, passwordSetBody, profileQuery as apiProfileQuery } from '../password/schemas.js';

export const approveBody = apiApproveBody;
export const macParams = apiMacParams;
export const refParams = apiRefParams;
export const computerBody = apiComputerBody;
export const groupParams = apiGroupParams;
export const haltBody = apiHaltBody;
export const settingsBody = apiSettingsBody;
export const profileQuery = apiProfileQuery;
export const clientParams = apiClientParams;

/** The API's password body plus the second typing; both are checked in code, never quoted back. */
export const passwordBody = {
  ...passwordSetBody,
  required: ['password', 'confirm'],
  properties: { ...passwordSetBody.properties, confirm: { description: 'the same password typed again' } },
} as const;

export const signInBody = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 512 } },
} as const;

export const pendingQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { status: { enum: ['pending', 'rejected', 'all'], default: 'pending' } },
} as const;

export const bulkBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'macs'],
  properties: {
    action: { enum: ['approve', 'reject'] },
    macs: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 32 } },
    profile: apiApproveBody.properties.profile,
    kind: apiApproveBody.properties.kind,
  },
} as const;

export const computersQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { type: 'string', maxLength: 128 },
    sort: { enum: ['name', 'profile', 'updated'], default: 'name' },
    order: { enum: ['asc', 'desc'], default: 'asc' },
    offset: { type: 'integer', minimum: 0, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mac: eventsQuery.properties.mac,
    type: eventsQuery.properties.type,
    before: eventsQuery.properties.before,
    limit: { ...eventsQuery.properties.limit, default: 200 },
  },
} as const;

/** Importing the good rows only: the lines to skip, as the preview listed them (`3,4,17`). */
export const importSkipQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['skip'],
  properties: {
    profile: { type: 'string', minLength: 1, maxLength: 64 },
    skip: { type: 'string', minLength: 1, maxLength: 100_000, pattern: '^[0-9]{1,9}(,[0-9]{1,9})*$' },
  },
} as const;
