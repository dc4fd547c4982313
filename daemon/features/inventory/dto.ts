/**
 * The JSON shapes the admin API returns and the CLI prints: times as ISO 8601, nothing internal (row ids).
 * The same functions feed both, so `bootgate computers list --json` equals `GET /api/v1/computers`.
 */
import type { BootgateConfig, DeploymentKind } from '../../config/schema.js';
import type { ComputerRecord } from '../../store/computers.js';
import type { DeviceRecord } from '../../store/devices.js';

export interface ComputerDto {
  name: string;
  macs: string[];
  guid: string | null;
  profile: string;
  /** As set on the computer; null = the profile's kind. */
  kind: DeploymentKind | null;
  /** What applies now; null when the profile is missing from the config. */
  effectiveKind: DeploymentKind | null;
  notes: string;
  sourceComputer: string | null;
  bootOnce: { consumedAt: string | null; consumedBy: string | null };
  createdAt: string;
  updatedAt: string;
}

export interface DeviceDto {
  mac: string;
  status: 'pending' | 'rejected';
  guid: string | null;
  arch: string | null;
  archCode: number | null;
  vendorClass: string | null;
  ip: string | null;
  firstSeen: string;
  lastSeen: string;
  attempts: number;
  decidedAt: string | null;
  decidedBy: string | null;
  /** The appliance (server.name) that saw it last. */
  seenBy: string | null;
}

export interface ImportResult {
  created: number;
  updated: number;
  ignoredColumns: string[];
}

export const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function computerDto(c: ComputerRecord, cfg: BootgateConfig): ComputerDto {
  const profile = cfg.profiles[c.profile];
  return {
    name: c.name,
    macs: c.macs,
    guid: c.guid,
    profile: c.profile,
    kind: c.kind,
    effectiveKind: profile ? c.kind ?? profile.kind : null,
    notes: c.notes,
    sourceComputer: c.sourceComputer,
    bootOnce: { consumedAt: isoOrNull(c.bootOnceConsumedAt), consumedBy: c.bootOnceConsumedBy },
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function deviceDto(d: DeviceRecord): DeviceDto {
  return {
    mac: d.mac, status: d.status, guid: d.guid, arch: d.arch, archCode: d.archCode, vendorClass: d.vendorClass, ip: d.ip,
    firstSeen: iso(d.firstSeen), lastSeen: iso(d.lastSeen), attempts: d.attempts, decidedAt: isoOrNull(d.decidedAt), decidedBy: d.decidedBy,
    seenBy: d.seenBy,
  };
}
