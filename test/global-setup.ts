import os from 'node:os';
import path from 'node:path';
import { migrations as aggregatorMigrations } from '@hosting/aggregator-service';
import { migrations as projectMigrations } from '@hosting/project-service';
import { createDb, freePort, runMigrations, startEmbeddedDb, type EmbeddedDb, type Migration } from '@hosting/shared';
import { databaseUrl, templateName, withAdmin } from '@hosting/shared/testing';

/**
 * Starts one PostgreSQL for the whole run (embedded, on a free port, in a throw-away folder;
 * or the server named by TEST_DATABASE_URL) and builds one migrated template database per
 * service. Each test file clones its own database from the template.
 */
declare global {
  var __TEST_PG__: { server?: EmbeddedDb; dir?: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  let server: EmbeddedDb | undefined;
  let dir: string | undefined;
  if (process.env.TEST_DATABASE_URL) {
    process.env.TEST_PG_SERVER_URL = process.env.TEST_DATABASE_URL;
  } else {
    dir = path.join(os.tmpdir(), `hosting-test-pg-${process.pid}-${Date.now()}`);
    server = await startEmbeddedDb({
      dataDir: dir,
      port: await freePort(),
      persistent: false,
      // A throw-away cluster: durability buys nothing here and costs seconds.
      postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    });
    process.env.TEST_PG_SERVER_URL = server.url('postgres');
  }
  globalThis.__TEST_PG__ = { server, dir };

  const templates: Array<['project' | 'aggregator', readonly Migration[]]> = [
    ['project', projectMigrations],
    ['aggregator', aggregatorMigrations],
  ];
  for (const [service, migrations] of templates) {
    const name = templateName(service);
    await withAdmin(async (client) => {
      await client.query(`drop database if exists ${name} with (force)`);
      await client.query(`create database ${name}`);
    });
    const db = createDb({ connectionString: databaseUrl(name), pool: { max: 1 } });
    try {
      await runMigrations(db, migrations);
    } finally {
      await db.destroy();
    }
  }
}
