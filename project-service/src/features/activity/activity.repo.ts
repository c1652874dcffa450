import type { Knex } from '@hosting/shared';

/** The feed's one question to our own database: does the project exist? (Its events live in the aggregator.) */
export function createActivityRepo(db: Knex) {
  return {
    async projectExists(id: number): Promise<boolean> {
      const { rows } = await db.raw<{ rows: Array<{ found: boolean }> }>('select exists (select 1 from projects where id = ?) as found', [id]);
      return rows[0]?.found === true;
    },
  };
}

export type ActivityRepo = ReturnType<typeof createActivityRepo>;
