/**
 * The configuration's shape: one JSON schema (validated by ajv, defaults filled in); the TypeScript
 * type it guarantees is in types.ts, re-exported here. `config/bootgate.example.yaml` documents every key.
 */
import { DhcpPort } from '../protocol/dhcp/constants.js';
import { TFTP_LIMITS, TFTP_PORT } from '../protocol/tftp/codec.js';
import { COEXIST_MODES } from '../policy/coexist.js';

export type * from './types.js';

const archFiles = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bios: { type: 'string', minLength: 1 },
    'efi-ia32': { type: 'string', minLength: 1 },
    'efi-x64': { type: 'string', minLength: 1 },
    'efi-arm32': { type: 'string', minLength: 1 },
    'efi-arm64': { type: 'string', minLength: 1 },
    'efi-riscv64': { type: 'string', minLength: 1 },
  },
  default: {},
} as const;

const list = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    macs: { type: 'array', items: { type: 'string', pattern: '^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){2,5}$' }, default: [] },
    guids: {
      type: 'array',
      items: { type: 'string', pattern: '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$' },
      default: [],
    },
  },
} as const;

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;

/** Profile and maintenance-window names (the keys of `profiles` and `maintenanceWindows`). */
export const CONFIG_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const configNames = { pattern: CONFIG_NAME_PATTERN } as const;

/** profiles.<name>.image: an image name, or one per architecture. */
const imageRef = {
  type: ['string', 'object', 'null'],
  default: null,
  pattern: CONFIG_NAME_PATTERN,
  additionalProperties: false,
  minProperties: 1,
  properties: {
    x64: { type: 'string', pattern: CONFIG_NAME_PATTERN },
    x86: { type: 'string', pattern: CONFIG_NAME_PATTERN },
    arm64: { type: 'string', pattern: CONFIG_NAME_PATTERN },
  },
} as const;

/** profiles.<name>.rollout (daemon/features/rollout/plan.ts explains the schedule). */
const rolloutSchema = {
  type: ['object', 'null'],
  default: null,
  additionalProperties: false,
  required: ['startDate', 'timeZone'],
  properties: {
    startDate: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
    timeZone: { type: 'string', minLength: 1, maxLength: 64 },
    startPerGroup: { type: 'integer', minimum: 1, maximum: 100000, default: 1 },
    growthFactor: { type: 'number', minimum: 1, maximum: 100, default: 2 },
    dailyLimit: { type: ['integer', 'null'], minimum: 1, default: null },
    dailyLimitPerGroup: { type: ['integer', 'null'], minimum: 1, default: null },
    notAdmitted: { enum: ['local', 'previous'], default: 'local' },
    previousProfile: { type: ['string', 'null'], minLength: 1, default: null },
    haltAfter: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        failures: { type: ['integer', 'null'], minimum: 1, default: null },
        failureRatio: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1, default: null },
        minResults: { type: 'integer', minimum: 1, default: 5 },
      },
    },
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        interfaces: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 15 }, default: [] },
        bindAddress: { type: ['string', 'null'], format: 'ipv4', default: null },
        advertiseAddress: { type: ['string', 'null'], format: 'ipv4', default: null },
        dhcpPort: { ...port, default: DhcpPort.SERVER },
        pxePort: { ...port, default: DhcpPort.PXE },
        clientPort: { ...port, default: DhcpPort.CLIENT },
        broadcastAddress: { type: 'string', format: 'ipv4', default: '255.255.255.255' },
        responseDelaySeconds: { type: 'integer', minimum: 0, maximum: 60, default: 0 },
        dhcpv6Listen: { type: 'boolean', default: true },
        coexist: { enum: COEXIST_MODES, default: 'none' },
        coexistDelaySeconds: { type: 'integer', minimum: 1, maximum: 60, default: 5 },
        answering: { type: 'boolean', default: true },
        user: { type: ['string', 'null'], minLength: 1, default: null },
        name: { type: ['string', 'null'], minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', default: null },
      },
    },
    tftp: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        port: { ...port, default: TFTP_PORT },
        blockSizeMax: { type: 'integer', minimum: TFTP_LIMITS.BLKSIZE_MIN, maximum: TFTP_LIMITS.BLKSIZE_MAX, default: 1468 },
        windowSizeMax: { type: 'integer', minimum: TFTP_LIMITS.WINDOWSIZE_MIN, maximum: TFTP_LIMITS.WINDOWSIZE_MAX, default: 64 },
        inflightBytesMax: { type: 'integer', minimum: 512, maximum: 67108864, default: 98304 },
        sessionsMax: { type: 'integer', minimum: 1, maximum: 10000, default: 200 },
        sessionsPerClientMax: { type: 'integer', minimum: 1, maximum: 1000, default: 8 },
        cacheBytes: { type: 'integer', minimum: 0, default: 268435456 },
        timeoutMs: { type: 'integer', minimum: 50, maximum: 255000, default: 1000 },
        retries: { type: 'integer', minimum: 1, maximum: 100, default: 6 },
        workers: { type: 'integer', minimum: 0, maximum: 64, default: 2 },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        port: { ...port, default: 8080 },
        address: { type: 'string', default: '0.0.0.0' },
        metricsTokenFile: { type: ['string', 'null'], minLength: 1, default: null },
        cacheBytes: { type: 'integer', minimum: 0, default: 268435456 },
        sendfile: { type: 'boolean', default: true },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        address: { type: ['string', 'null'], format: 'ipv4', default: null },
        port: { type: ['integer', 'null'], minimum: 0, maximum: 65535, default: null },
        tokensFile: { type: ['string', 'null'], default: null },
        ouiFile: { type: ['string', 'null'], minLength: 1, default: '/usr/share/ieee-data/oui.csv' },
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            cert: { type: ['string', 'null'], minLength: 1, default: null },
            key: { type: ['string', 'null'], minLength: 1, default: null },
          },
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', minLength: 1, default: 'data/bootgate.db' },
        url: { type: ['string', 'null'], pattern: '^postgres(ql)?://', default: null },
        passwordFile: { type: ['string', 'null'], minLength: 1, default: null },
        auditRetentionDays: { type: 'integer', minimum: 1, maximum: 3650, default: 90 },
        pendingMax: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
    root: { type: 'string', minLength: 1, default: 'boot' },
    ipxe: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { scriptTransport: { enum: ['http', 'tftp'], default: 'http' } },
    },
    menu: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        default: { enum: ['local', 'linux', 'shell'], default: 'local' },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 5 },
      },
    },
    policy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        unknown: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            action: { enum: ['ignore', 'boot', 'pending'], default: 'boot' },
            profile: { type: 'string', minLength: 1, default: 'menu' },
            retrySeconds: { type: 'integer', minimum: 5, maximum: 3600, default: 30 },
          },
        },
        allow: list,
        deny: list,
      },
    },
    profiles: {
      type: 'object',
      default: {},
      propertyNames: configNames,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          description: { type: 'string', default: '' },
          bootFiles: archFiles,
          httpBootFiles: archFiles,
          secureBootFiles: archFiles,
          linux: {
            type: ['object', 'null'],
            default: null,
            additionalProperties: false,
            required: ['kernel'],
            properties: {
              kernel: { type: 'string', minLength: 1 },
              initrd: { type: ['string', 'null'], minLength: 1, default: null },
              // One line: GRUB and PXELINUX read a newline as the end of the command.
              cmdline: { type: 'string', pattern: '^[^\\n\\r]*$', default: '' },
            },
          },
          ipxeScript: { type: ['string', 'null'], default: null },
          ipxeScriptFile: { type: ['string', 'null'], default: null },
          kind: { enum: ['required', 'available'], default: 'available' },
          bootOnceMarker: { type: ['string', 'null'], default: null },
          bcdPath: { type: ['string', 'null'], default: null },
          image: imageRef,
          rollout: rolloutSchema,
          password: {
            type: 'object',
            additionalProperties: false,
            default: {},
            properties: {
              mode: { enum: ['inherit', 'required', 'none'], default: 'inherit' },
              // Relative, no `..`, none of the `|` `,` the signed-URL token uses as separators.
              files: { type: 'array', items: { type: 'string', pattern: '^(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9_~+.-][A-Za-z0-9_~+./-]*$' }, default: [] },
            },
          },
        },
      },
    },
    maintenanceWindows: {
      type: 'object',
      default: {},
      propertyNames: configNames,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['schedule', 'timeZone'],
        properties: {
          schedule: { type: 'string', minLength: 1, maxLength: 512 },
          timeZone: { type: 'string', minLength: 1, maxLength: 64 },
          groups: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 64 }, default: [] },
        },
      },
    },
    password: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        required: { type: 'boolean', default: false },
        maxFailures: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
        lockoutMinutes: { type: 'integer', minimum: 1, maximum: 1440, default: 15 },
        unlockMinutes: { type: 'integer', minimum: 1, maximum: 240, default: 10 },
      },
    },
  },
} as const;
