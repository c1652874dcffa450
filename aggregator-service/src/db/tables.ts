/** Rows of the aggregator database as PostgreSQL returns them (timestamptz → Date, int8 → number: see shared/db). */
export interface EventRow {
  id: number;
  event_id: string;
  name: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
  created_at: Date;
  project_id: number | null;
  deployment_id: number | null;
  user_id: number | null;
}

declare module 'knex/types/tables.js' {
  interface Tables {
    events: EventRow;
  }
}
