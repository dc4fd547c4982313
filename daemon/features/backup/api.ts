/**
 * POST /store/backup: an online backup of the running daemon's store, streamed to the caller (who
 * writes it where it wants: `bootgate store backup FILE` on any machine). POST, not GET: it needs a
 * read-write token, since the copy holds everything, password hashes included. The copy is made
 * beside the store (its file system has room for the database; /tmp may be a small tmpfs), then
 * removed once sent or abandoned.
 */
import { createReadStream, rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { AdminError } from '../../http/admin/errors.js';
import type { AdminRoutes } from '../../http/admin/index.js';
import { commonErrors, errorResponses } from '../../http/admin/schemas.js';
import type { Store } from '../../store/db.js';
import { backupResponse, BACKUP_MEDIA_TYPE } from './schemas.js';
import { backupStore, tempBeside } from './service.js';

export function backupRoutes(store: Store): AdminRoutes {
  return async (app: FastifyInstance) => {
    app.post('/store/backup', {
      schema: {
        tags: ['store'], summary: 'An online backup of the store (a consistent SQLite file), streamed',
        response: { 200: backupResponse, ...commonErrors, ...errorResponses(409) },
      },
    }, async (_req, reply) => {
      if (store.path === ':memory:') throw new AdminError(409, 'ERR_CONFLICT', 'the store is in memory (store.path :memory:): there is no file to back up');
      if (store.shared) throw new AdminError(409, 'ERR_CONFLICT', 'the store is the shared PostgreSQL database: back it up with pg_dump -Fc (the appliances keep no data of their own)');
      const r = await backupStore(store, tempBeside(store.path, 'backup'));
      const stream = createReadStream(r.path);
      const remove = () => rmSync(r.path, { force: true });
      stream.once('close', remove);
      stream.once('error', remove);
      return reply
        .header('content-type', BACKUP_MEDIA_TYPE)
        .header('content-length', r.bytes)
        .header('x-bootgate-backup-pages', r.pages)
        .header('content-disposition', 'attachment; filename="bootgate-backup.db"')
        .send(stream);
    });
  };
}
