/**
 * POST /store/backup answers the database file itself (a SQLite 3 file, journal_mode DELETE).
 */
export const BACKUP_MEDIA_TYPE = 'application/vnd.sqlite3';

export const backupResponse = {
  description: 'A consistent copy of the store, as one SQLite 3 file (headers: X-Bootgate-Backup-Pages)',
  content: { [BACKUP_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary' } } },
} as const;
