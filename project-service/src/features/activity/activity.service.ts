import { NotFoundError, ServiceUnavailableError, ValidationError } from '@hosting/shared';
import { AggregatorError, type AggregatorClient } from '../../events/aggregator-client.js';
import type { Owner } from '../../domain.js';
import type { ProjectsRepo } from '../projects/projects.repo.js';
import { activityJson, aggregatorActivityPage, queryIssuesOf, type ActivityPage, type ActivityQuery } from './activity.schema.js';

/** Seconds a client should wait before asking again when the aggregator could not answer. */
export const AGGREGATOR_RETRY_AFTER_S = 5;
/** … and when no aggregator is configured at all (that will not change in 5 seconds). */
const NOT_CONFIGURED_RETRY_AFTER_S = 60;

/**
 * A project's activity feed, served from the aggregator (the event store). The project is looked
 * up in our database first: an unknown one (or, for a user's token, another user's) is our 404,
 * whatever the aggregator holds. Whatever
 * goes wrong on the aggregator's side (no client configured, refused, reset, timed out, a 5xx, an
 * answer of the wrong shape) is a 503 with Retry-After, logged once with its cause by the error
 * middleware: never a 500, never a hang longer than the client's read timeout.
 */
export function createActivityService(deps: { projects: Pick<ProjectsRepo, 'exists'>; aggregator: AggregatorClient | undefined }) {
  return {
    async feed(projectId: number, query: ActivityQuery, requestId: string, owner?: Owner): Promise<ActivityPage> {
      if (!(await deps.projects.exists(projectId, owner))) throw new NotFoundError(`Project ${projectId} not found`);
      const { aggregator } = deps;
      if (!aggregator) {
        throw new ServiceUnavailableError(
          'The activity feed is not available: this instance has no aggregator configured',
          NOT_CONFIGURED_RETRY_AFTER_S,
        );
      }
      let body: unknown;
      try {
        body = await aggregator.projectActivity(projectId, query, requestId);
      } catch (err) {
        if (err instanceof AggregatorError && err.status === 400) {
          // Our checks passed, so this is about a cursor the aggregator did not give out.
          const issues = queryIssuesOf(err.body);
          if (issues) throw new ValidationError(`Invalid ${issues[0]!.path}: ${issues[0]!.message}`, issues);
        }
        throw new ServiceUnavailableError('The event store did not answer; try again shortly', AGGREGATOR_RETRY_AFTER_S, err);
      }
      const page = aggregatorActivityPage.safeParse(body);
      if (!page.success) {
        throw new ServiceUnavailableError(
          'The event store answered something unexpected; try again shortly',
          AGGREGATOR_RETRY_AFTER_S,
          page.error,
        );
      }
      return { data: page.data.data.map(activityJson), nextCursor: page.data.nextCursor };
    },
  };
}

export type ActivityService = ReturnType<typeof createActivityService>;
