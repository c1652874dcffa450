import type { Knex } from '@hosting/shared';

/**
 * The feed's one question to our own database: does the project exist (and, for a user's token,
 * is it theirs)? Its events live in the aggregator.
 */
export function createActivityRepo(db: Knex) {
  return {
    async projectExists(id: number, owner?: number): Promise<boolean> {
      const { rows } =
        owner === undefined
          ? await db.raw<{ rows: Array<{ found: boolean }> }>('select exists (select 1 from projects where id = ?) as found', [id])
          : await db.raw<{ rows: Array<{ found: boolean }> }>('select exists (select 1 from projects where id = ? and user_id = ?) as found', [id, owner]);
      return rows[0]?.found === true;
    },
  };
}

export type ActivityRepo = ReturnType<typeof createActivityRepo>;
