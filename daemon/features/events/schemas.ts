/**
 * JSON schemas of /events: the query string (validated, exact 400s) and the event shape.
 */

const strOrNull = { type: ['string', 'null'] } as const;
const auditTypes = ['decision', 'admin', 'boot-once', 'suppressed', 'password', 'secure-boot'] as const;

export const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    type: { enum: auditTypes },
    mac: strOrNull,
    door: strOrNull,
    decision: strOrNull,
    reason: strOrNull,
    profile: strOrNull,
    computer: strOrNull,
    ip: strOrNull,
    arch: strOrNull,
    actor: strOrNull,
    detail: strOrNull,
    /** The appliance (server.name) that recorded it. */
    server: strOrNull,
  },
} as const;

export const eventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mac: { type: 'string', maxLength: 32 },
    type: { enum: auditTypes },
    since: { type: 'string', format: 'date-time' },
    until: { type: 'string', format: 'date-time' },
    before: { type: 'integer', minimum: 1, description: 'only events with a smaller id (paging back from the newest)' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;
