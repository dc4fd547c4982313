/**
 * JSON schemas of /profiles and /sessions.
 */

const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const archFiles = { type: 'object', additionalProperties: str } as const;

export const profileSchema = {
  type: 'object',
  properties: {
    name: str,
    description: str,
    kind: { enum: ['required', 'available'] },
    bootOnceMarker: strOrNull,
    bootFiles: archFiles,
    httpBootFiles: archFiles,
    secureBootFiles: archFiles,
    ipxeScript: { type: 'boolean' },
    bcdPath: strOrNull,
  },
} as const;

export const sessionsSchema = {
  type: 'object',
  properties: { sessions: { type: 'array', items: { type: 'object', additionalProperties: true } } },
} as const;
