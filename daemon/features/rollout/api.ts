/**
 * Rollout routes of the admin API (registered under /api/v1 behind its bearer-token auth, validators
 * and error shape; changes need a read-write token like every other POST/PUT/DELETE):
 *   GET    /rollouts                                   every rollout's schedule table
 *   GET    /rollouts/:profile                          one rollout: per group and day planned/admitted/done/failed
 *   POST   /rollouts/:profile/groups/:group/halt       halt a group by hand ({reason})
 *   POST   /rollouts/:profile/groups/:group/resume     resume it
 *   POST   /results                                    a deployment reports its result ({computer, status})
 *   GET    /rollout-members                            computers' groups, criticality ranks, own windows
 *   PUT    /rollout-members                            set them ({members: [...]}, all or nothing)
 *   DELETE /rollout-members/:computer                  back to the "ungrouped" group
 */
import type { FastifyInstance } from 'fastify';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import type { ResultStatus } from './failures.js';
import type { Remote } from '../feature.js';
import type { MemberInput, ResultInput, RolloutService } from './service.js';
import type { RolloutStatus } from './status.js';
import type { MemberRecord } from './store.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const intOrNull = { type: ['integer', 'null'] } as const;
const name64 = { type: 'string', minLength: 1, maxLength: 64 } as const;
/** A computer as the admin commands name it: its name, a MAC or its SMBIOS GUID (inventory findComputer). */
const computerRef = { type: 'string', minLength: 1, maxLength: 128, description: 'computer name, MAC or SMBIOS GUID' } as const;

const errors = { ...commonErrors, ...errorResponses(404, 409) };

/** Why a group is halted by hand (the console's Halt form sends the same body). */
export const haltBody = { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', minLength: 1, maxLength: 200 } } } as const;

const dayRow = {
  type: 'object',
  properties: { day: int, date: str, planned: int, admitted: int, done: int, failed: int },
} as const;

export const rolloutStatusSchema = {
  type: 'object',
  properties: {
    profile: str,
    settings: {
      type: 'object',
      properties: {
        startDate: str, timeZone: str, startPerGroup: int, growthFactor: { type: 'number' }, dailyLimit: intOrNull, dailyLimitPerGroup: intOrNull,
      },
    },
    today: { ...int, description: 'day index (0 = startDate; negative before it)' },
    todayDate: str,
    complete: { type: 'boolean', description: 'every machine of the profile is admitted' },
    completeDay: { ...intOrNull, description: 'the day the last machine is (projected to be) admitted; null while halted groups keep some out' },
    totals: { type: 'array', items: dayRow },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          group: str, machines: int, admitted: int, done: int, failed: int, completeDay: intOrNull,
          halt: {
            type: ['object', 'null'],
            properties: { at: { type: 'string', format: 'date-time' }, by: str, reason: str },
          },
          days: { type: 'array', items: dayRow },
        },
      },
    },
  },
} as const;

const memberSchema = {
  type: 'object',
  properties: { computer: str, group: str, criticality: intOrNull, window: { type: ['string', 'null'] }, updatedAt: { type: 'string', format: 'date-time' } },
} as const;

const memberBody = {
  type: 'object',
  additionalProperties: false,
  required: ['computer', 'group'],
  properties: {
    computer: computerRef,
    group: name64,
    criticality: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000, description: 'lower = less critical = admitted earlier; null = after every ranked machine' },
    window: { type: ['string', 'null'], minLength: 1, maxLength: 64, description: 'a maintenanceWindows name of its own (else its group\'s)' },
  },
} as const;

const resultBody = {
  type: 'object',
  additionalProperties: false,
  required: ['computer', 'status'],
  properties: {
    computer: computerRef,
    status: { enum: ['done', 'failed'] },
    profile: { ...name64, description: 'the profile deployed (default: the computer\'s)' },
    detail: { type: 'string', maxLength: 500, description: 'e.g. the task sequence\'s error' },
  },
} as const;

const resultSchema = {
  type: 'object',
  properties: { computer: str, profile: str, group: str, status: str, halted: { type: ['string', 'null'], description: 'why this result halted the group, else null' } },
} as const;

export const groupParams = { type: 'object', required: ['profile', 'group'], properties: { profile: name64, group: name64 } } as const;

/** Times as ISO 8601, as the rest of the admin API shows them. */
export function statusDto(st: RolloutStatus) {
  return { ...st, groups: st.groups.map((g) => ({ ...g, halt: g.halt && { ...g.halt, at: new Date(g.halt.at).toISOString() } })) };
}

const memberDto = (m: MemberRecord) => ({ ...m, updatedAt: new Date(m.updatedAt).toISOString() });

type GroupRoute = { Params: { profile: string; group: string } };

/** The routes as a plugin for adminApi's `plugins` option (it passes the caller's `actor`). */
export function rolloutRoutes(service: Remote<RolloutService>): AdminRoutes {
  return async (app: FastifyInstance, { actor }) => {
    const tags = ['rollouts'];
    app.get('/rollouts', {
      schema: { tags, summary: 'Every rollout\'s schedule table', response: { 200: { type: 'object', properties: { rollouts: { type: 'array', items: rolloutStatusSchema } } }, ...errors } },
    }, async () => ({ rollouts: (await service.statuses()).map(statusDto) }));

    app.get<{ Params: { profile: string } }>('/rollouts/:profile', {
      schema: {
        tags, summary: 'One rollout: per group and per day, machines planned, admitted, done and failed',
        params: { type: 'object', required: ['profile'], properties: { profile: name64 } }, response: { 200: rolloutStatusSchema, ...errors },
      },
    }, async (req) => statusDto(await service.status(req.params.profile)));

    app.post<GroupRoute & { Body: { reason?: string } | undefined }>('/rollouts/:profile/groups/:group/halt', {
      schema: {
        tags, summary: 'Halt a group: nobody new is admitted from the next day on; admitted machines keep their deployment',
        params: groupParams,
        body: haltBody,
        response: { 200: rolloutStatusSchema, ...errors },
      },
    }, async (req) => statusDto(await service.halt(req.params.profile, req.params.group, actor(req), req.body?.reason)));

    app.post<GroupRoute>('/rollouts/:profile/groups/:group/resume', {
      schema: { tags, summary: 'Resume a halted group at the rate it stopped at; failures before now no longer count', params: groupParams, response: { 200: rolloutStatusSchema, ...errors } },
    }, async (req) => statusDto(await service.resume(req.params.profile, req.params.group, actor(req))));

    app.post<{ Body: ResultInput & { status: ResultStatus } }>('/results', {
      schema: {
        tags, summary: 'A deployment reports how it ended; failures count per group and may halt it', body: resultBody, response: { 200: resultSchema, ...errors },
      },
    }, async (req) => service.recordResult(req.body, actor(req)));

    app.get('/rollout-members', {
      schema: { tags, summary: 'Computers\' rollout groups, criticality ranks and own windows', response: { 200: { type: 'object', properties: { members: { type: 'array', items: memberSchema } } }, ...errors } },
    }, async () => ({ members: (await service.members()).map(memberDto) }));

    app.put<{ Body: { members: MemberInput[] } }>('/rollout-members', {
      schema: {
        tags, summary: 'Set computers\' groups, criticality ranks and own windows (all or nothing)',
        body: { type: 'object', additionalProperties: false, required: ['members'], properties: { members: { type: 'array', minItems: 1, maxItems: 100_000, items: memberBody } } },
        response: { 200: { type: 'object', properties: { members: { type: 'array', items: memberSchema } } }, ...errors },
      },
    }, async (req) => ({ members: (await service.setMembers(req.body.members, actor(req))).map(memberDto) }));

    app.delete<{ Params: { computer: string } }>('/rollout-members/:computer', {
      schema: {
        tags, summary: 'Take a computer out of its group (it joins "ungrouped")',
        params: { type: 'object', required: ['computer'], properties: { computer: { type: 'string', minLength: 1, maxLength: 128 } } },
        response: { 204: { type: 'null' }, ...errors },
      },
    }, async (req, reply) => {
      await service.removeMember(req.params.computer, actor(req));
      return reply.code(204).send();
    });
  };
}
