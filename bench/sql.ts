/** knex's `?` placeholders as PostgreSQL's `$n`, for statements run outside knex (the baseline, PREPARE). */
export function toPg(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
