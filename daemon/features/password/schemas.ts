/**
 * JSON schemas of the password admin routes, shared with the console so a form in the page is refused
 * exactly as the same request to the API would be. `password` has no type here on purpose: it is
 * checked in code (PasswordAdmin.set), because a schema error would quote the value back.
 */
export const passwordSetBody = {
  type: 'object', additionalProperties: false, required: ['password'],
  properties: { password: { description: 'printable ASCII, 6 to 63 characters' }, profile: { type: ['string', 'null'], minLength: 1, maxLength: 64 } },
} as const;

export const profileQuery = { type: 'object', additionalProperties: false, properties: { profile: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

export const clientParams = { type: 'object', required: ['client'], properties: { client: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
