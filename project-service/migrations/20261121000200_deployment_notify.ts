import type { Knex } from 'knex';

/**
 * The live deployment stream (`GET /deployments/stream`) reads from `deployment_changes`: one row
 * per created deployment and per status change, with the deployment as it was right after the
 * change. Its `id` is the stream's event id (`Last-Event-ID`), so a client that reconnects is
 * replayed `where id > lastEventId`; rows older than the replay window are purged by the hubs.
 *
 * Statement-level triggers on `deployments` write the rows, in the statement that made the change,
 * and `NOTIFY deployment_changes` (payload: the highest id written) wakes every process's hub.
 * Triggers rather than the repository's statements: they catch every write path (webhook, cancel,
 * creation, seeds, a future bulk update) and leave the one-statement writes of deployments.repo.ts
 * as they are. Statement-level with transition tables: a bulk insert of a million deployments costs
 * one `insert … select` and one notification, not a million of each. (Transition tables cannot be
 * combined with `update of status`, so the update trigger compares old and new status itself; an
 * update that changes no status, such as a compare-and-set that lost, writes nothing.)
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table deployment_changes (
      id bigserial primary key,
      deployment_id integer not null,
      project_id integer not null,
      status text not null,
      deployed_in integer,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      changed_at timestamptz not null default now()
    )`);
  // Per-project replay (`where project_id = ? and id > ?`), and the purge by age.
  await knex.raw(`create index deployment_changes_project_id_id on deployment_changes (project_id, id)`);
  await knex.raw(`create index deployment_changes_changed_at on deployment_changes (changed_at)`);

  await knex.raw(`
    create function deployment_changes_record() returns trigger language plpgsql as $$
    declare
      top bigint;
    begin
      if tg_op = 'INSERT' then
        with written as (
          insert into deployment_changes (deployment_id, project_id, status, deployed_in, created_at, updated_at)
          select n.id, n.project_id, n.status, n.deployed_in, n.created_at, n.updated_at
          from new_rows n order by n.id
          returning id)
        select max(id) into top from written;
      else
        with written as (
          insert into deployment_changes (deployment_id, project_id, status, deployed_in, created_at, updated_at)
          select n.id, n.project_id, n.status, n.deployed_in, n.created_at, n.updated_at
          from new_rows n join old_rows o on o.id = n.id
          where n.status is distinct from o.status
          order by n.id
          returning id)
        select max(id) into top from written;
      end if;
      if top is not null then
        perform pg_notify('deployment_changes', top::text);
      end if;
      return null;
    end $$`);
  await knex.raw(`
    create trigger deployment_changes_on_insert after insert on deployments
      referencing new table as new_rows
      for each statement execute function deployment_changes_record()`);
  await knex.raw(`
    create trigger deployment_changes_on_update after update on deployments
      referencing old table as old_rows new table as new_rows
      for each statement execute function deployment_changes_record()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists deployment_changes_on_update on deployments');
  await knex.raw('drop trigger if exists deployment_changes_on_insert on deployments');
  await knex.raw('drop function if exists deployment_changes_record()');
  await knex.raw('drop table if exists deployment_changes');
}
