/**
 * The appliance list's shape, shared by GET /appliances and the console's Appliances page.
 */
const str = { type: 'string' } as const;
const strings = { type: 'array', items: str } as const;

export const applianceSchema = {
  type: 'object',
  properties: {
    name: str, version: str, subnets: strings, ready: { type: 'boolean' }, readiness: strings, storeState: str,
    bootsLastHour: { type: 'integer' }, startedAt: str, lastSeen: str, secondsSinceSeen: { type: 'integer' },
    stale: { type: 'boolean' }, self: { type: 'boolean' },
  },
} as const;

export const appliancesResponse = { type: 'object', properties: { appliances: { type: 'array', items: applianceSchema } } } as const;
