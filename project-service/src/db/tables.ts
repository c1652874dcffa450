import type { DeploymentStatus } from '@hosting/shared';

/** Rows as PostgreSQL returns them (pg parses timestamptz to Date, int8 to number: see shared/db). */
export interface UserRow {
  id: number;
  email: string;
  username: string;
  /** The identity provider's subject this user signs in as (JWT mode); set by an operator. */
  auth_subject: string | null;
  created_at: Date;
}

export interface ProjectRow {
  id: number;
  name: string;
  url: string | null;
  user_id: number;
  app_secret_sha256: Buffer;
  created_at: Date;
}

export interface DeploymentRow {
  id: number;
  project_id: number;
  status: DeploymentStatus;
  deployed_in: number | null;
  created_at: Date;
  updated_at: Date;
}

export interface OutboxRow {
  id: number;
  event_id: string;
  name: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
  attempts: number;
  next_attempt_at: Date;
  delivered_at: Date | null;
  last_error: string | null;
}

declare module 'knex/types/tables.js' {
  interface Tables {
    users: UserRow;
    projects: ProjectRow;
    deployments: DeploymentRow;
    outbox: OutboxRow;
  }
}
