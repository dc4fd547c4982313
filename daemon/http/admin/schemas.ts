/**
 * The admin API's shared schema parts: the one error shape every route answers with.
 */

const str = { type: 'string' } as const;

export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: str,
    error: str,
    message: str,
    problems: { type: 'array', items: str },
  },
} as const;

/** The error responses of a route, for its `response` schema (and the OpenAPI document). */
export function errorResponses<C extends number>(...codes: C[]): Record<C, typeof errorSchema> {
  return Object.fromEntries(codes.map((c) => [c, errorSchema])) as Record<C, typeof errorSchema>;
}

/** Every admin route may answer these: bad input, no or a wrong token, a read-only token, too many failures. */
export const commonErrors = errorResponses(400, 401, 403, 429);
