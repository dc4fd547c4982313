/**
 * `bootgate secure-boot ...` on a database file (no daemon): mark, list, show, clear; a bad or unknown
 * MAC is one message and exit code 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import type { CliIo } from '../../daemon/cli/index.js';
import { openStore } from '../../daemon/store/db.js';
import { createSecureBootCommand } from '../../daemon/features/secureboot/cli.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const value: CliIo = {
    env: {}, fetch: globalThis.fetch, out: (t) => out.push(t), err: (t) => err.push(t), setExitCode: (c) => { code = c; }, readFile: () => '',
  };
  return { value, out, err, code: () => code };
}

async function bootgate(cli: CliIo, ...argv: string[]): Promise<void> {
  await yargs(argv).command(createSecureBootCommand(cli)).strict().exitProcess(false).parseAsync();
}

test('mark, list, show, clear on the database; errors say what is wrong', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-sb-cli-'));
  try {
    const db = join(dir, 'bootgate.db');
    const config = join(dir, 'bootgate.yaml');
    writeFileSync(config, `http: { enabled: false }\nstore: { path: ${db} }\n`);
    openStore(db).close();
    const mark = io();
    await bootgate(mark.value, 'secure-boot', 'mark', '52-54-00-AA-BB-CC', '-c', config);
    assert.equal(mark.code(), 0, mark.err.join(''));
    assert.match(mark.out.join(''), /^52:54:00:aa:bb:cc +admin +- +- +\S+ \S+ +cli$/m);
    const list = io();
    await bootgate(list.value, 'secure-boot', 'list', '-c', config, '--json');
    assert.deepEqual((JSON.parse(list.out.join('')) as Array<{ mac: string }>).map((r) => r.mac), ['52:54:00:aa:bb:cc']);
    const clear = io();
    await bootgate(clear.value, 'secure-boot', 'clear', '52:54:00:aa:bb:cc', '-c', config);
    assert.equal(clear.out.join(''), '52:54:00:aa:bb:cc: cleared\n');
    const again = io();
    await bootgate(again.value, 'secure-boot', 'show', '52:54:00:aa:bb:cc', '-c', config);
    assert.equal(again.code(), 1);
    assert.match(again.err.join(''), /52:54:00:aa:bb:cc is not marked as a Secure Boot machine/);
    const bad = io();
    await bootgate(bad.value, 'secure-boot', 'mark', 'nope', '-c', config);
    assert.equal(bad.code(), 1);
    assert.match(bad.err.join(''), /not a MAC address: "nope"/);
    const empty = io();
    await bootgate(empty.value, 'secure-boot', 'list', '-c', config);
    assert.equal(empty.out.join(''), 'no Secure Boot machines (none marked, no refusal noticed)\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
