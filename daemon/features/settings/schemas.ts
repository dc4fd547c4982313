/**
 * JSON schemas of /settings: the three views of the switches, and the patch body.
 */

const settingsValues = {
  type: 'object',
  properties: {
    answering: { type: 'boolean' },
    responseDelaySeconds: { type: 'integer' },
    interfaces: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const settingsSchema = {
  type: 'object',
  properties: { effective: settingsValues, overrides: settingsValues, config: settingsValues },
} as const;

/** `null` removes the override: the config file's value applies again. */
export const settingsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    answering: { type: ['boolean', 'null'] },
    responseDelaySeconds: { type: ['integer', 'null'], minimum: 0, maximum: 60 },
    interfaces: {
      type: ['array', 'null'],
      maxItems: 64,
      items: { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,15}$' },
    },
  },
} as const;
