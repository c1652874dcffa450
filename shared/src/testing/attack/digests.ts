import type { Knex } from '../../db/knex.js';

/**
 * A digest of every table's rows (md5 over the rows' text in order), in one statement: a
 * rejected request must leave each the same. `exclude` names tables that change by design
 * whatever the requests do (a purged change log).
 */
export async function tableDigests(db: Knex, exclude: string[] = []): Promise<Record<string, string>> {
  const { rows: tables } = await db.raw<{ rows: Array<{ tablename: string }> }>(
    `select tablename from pg_tables where schemaname = current_schema() and tablename not like 'knex_migrations%' order by tablename`,
  );
  const names = tables.map((t) => t.tablename).filter((t) => !exclude.includes(t));
  if (names.length === 0) return {};
  const sql = names
    .map(() => `select ?::text as t, md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as h from ?? as x`)
    .join(' union all ');
  const { rows } = await db.raw<{ rows: Array<{ t: string; h: string }> }>(
    sql,
    names.flatMap((n) => [n, n]),
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}
