import type { Migration } from '@hosting/shared';
import * as users from './20261120000100_users.js';
import * as projects from './20261120000200_projects.js';
import * as deployments from './20261120000300_deployments.js';
import * as outbox from './20261120000400_outbox.js';
import * as statsIndexes from './20261121000100_stats_indexes.js';
import * as deploymentNotify from './20261121000200_deployment_notify.js';
import * as idempotencyKeys from './20261122000100_idempotency_keys.js';
import * as usersAuthSubject from './20261122000300_users_auth_subject.js';
import * as deploymentCounts from './20261123000100_deployment_counts.js';
import * as projectCounts from './20261123000200_project_counts.js';
import * as projectsSecretDigestIndex from './20261202000100_projects_secret_digest_index.js';
import * as rateLimits from './20261203000100_rate_limits.js';

/** Every migration of the project database, in order. Add new ones at the end. */
export const migrations: readonly Migration[] = [
  { name: '20261120000100_users', ...users },
  { name: '20261120000200_projects', ...projects },
  { name: '20261120000300_deployments', ...deployments },
  { name: '20261120000400_outbox', ...outbox },
  { name: '20261121000100_stats_indexes', ...statsIndexes },
  { name: '20261121000200_deployment_notify', ...deploymentNotify },
  { name: '20261122000100_idempotency_keys', ...idempotencyKeys },
  { name: '20261122000300_users_auth_subject', ...usersAuthSubject },
  { name: '20261123000100_deployment_counts', ...deploymentCounts },
  { name: '20261123000200_project_counts', ...projectCounts },
  { name: '20261202000100_projects_secret_digest_index', ...projectsSecretDigestIndex },
  { name: '20261203000100_rate_limits', ...rateLimits },
];
