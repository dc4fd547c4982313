/**
 * JSON schemas of /secure-boot: the machines that get the profiles' Secure Boot chain.
 */

export const secureBootSchema = {
  type: 'object',
  properties: {
    mac: { type: 'string' },
    source: { enum: ['admin', 'refusal'] },
    reason: { type: ['string', 'null'] },
    file: { type: ['string', 'null'] },
    at: { type: 'string' },
    actor: { type: 'string' },
  },
} as const;

export const secureBootList = { type: 'array', items: secureBootSchema } as const;

export const macParams = {
  type: 'object',
  required: ['mac'],
  properties: { mac: { type: 'string', pattern: '^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$' } },
} as const;

export const clearedSchema = {
  type: 'object',
  properties: { mac: { type: 'string' }, cleared: { type: 'boolean' } },
} as const;
