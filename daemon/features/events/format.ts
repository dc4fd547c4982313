/**
 * Human-readable output of `bootgate events` (`--json` prints the API's JSON instead).
 */
import { shortTime, table } from '../../cli/output.js';
import type { EventDto } from './service.js';

export function eventsTable(list: EventDto[]): string {
  if (list.length === 0) return 'no events\n';
  return table(['TIME', 'TYPE', 'MAC', 'DOOR', 'DECISION', 'REASON', 'COMPUTER', 'ACTOR', 'DETAIL'],
    list.map((e) => [shortTime(e.at), e.type, e.mac ?? '', e.door ?? '', e.decision ?? '', e.reason ?? '', e.computer ?? '', e.actor ?? '', e.detail ?? '']));
}
