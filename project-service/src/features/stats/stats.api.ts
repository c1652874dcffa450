import { answerHeaders, errorResponse, errors, requestIdParam, type RouteTable } from '@hosting/shared';
import { userIdParams, userStatsQuery, userStatsSchema } from './stats.schema.js';

/** What the statistics answer: the route table of `GET /users/{id}/stats`, with the definition of every figure. */

const DEFINITION = `A user's deployments over a window of whole **ISO weeks** (Monday 00:00 UTC to the next Monday 00:00 UTC).

- **The window.** By default it runs from the week of the user's first deployment through the current week
  (by the service's clock), both included. \`from\` moves its start to the week containing \`from\`, \`to\` its end to
  the week containing \`to\`; both are included and both snap to whole weeks: the window is
  [Monday 00:00 UTC of \`from\`'s week, Monday 00:00 UTC after \`to\`'s week), whatever the time of day in the bounds,
  so partial weeks at either end count whole. Given without \`to\`, \`from\` runs through the current week; given
  without \`from\`, \`to\` starts the window with the first deployment created before the window's end.
- **Bounds** are dates (\`YYYY-MM-DD\`, a UTC calendar day) or ISO 8601 date-times with seconds and \`Z\` or an offset
  (\`2027-01-04T01:00:00+02:00\` is 2027-01-03 23:00 UTC, so it falls in the week of Monday 2026-12-28; encode \`+\` as
  \`%2B\`), from 0001-01-01 to 9999-12-26. \`from\` after \`to\` (\`to\` defaulting to now) is a 400 naming \`query.from\`.
- **Counting.** A deployment counts in the week of its \`createdAt\` (in UTC), whatever its status;
  \`successfulDeployments\` counts those whose status is \`done\`. Deployments of all the user's projects count.
  Weeks without any deployment count as weeks.
- **Averages** are the count divided by \`weeks\`, rounded half up to 2 decimals (7 deployments over 3 weeks: \`2.33\`).
- **\`from\` and \`to\` in the answer** are the window's first Monday and last Sunday, as dates (\`YYYY-MM-DD\`, UTC).
- **An empty window.** A user without deployment (before the window's end), asked without \`from\`, has no window:
  \`weeks\` 0, \`from\` and \`to\` null, every count and average 0. With \`from\`, the window is the one asked for, and
  its weeks count even when they hold no deployment (averages 0).

The whole answer is one SQL statement, an index-only range scan per project of the user, whatever the window's length.`;

export const statsApi: RouteTable = {
  '/users/{id}/stats': {
    get: {
      tags: ['statistics'],
      operationId: 'getUserStats',
      summary: "A user's deployments per ISO week",
      description: DEFINITION,
      parameters: [requestIdParam],
      requestParams: { path: userIdParams, query: userStatsQuery },
      responses: {
        '200': {
          description: 'The statistics.',
          headers: answerHeaders(),
          content: {
            'application/json': {
              schema: userStatsSchema,
              example: {
                userId: 1,
                from: '2026-12-21',
                to: '2027-01-10',
                weeks: 3,
                deployments: 7,
                successfulDeployments: 5,
                averageWeeklyDeployments: 2.33,
                averageWeeklySuccessfulDeployments: 1.67,
              },
            },
          },
        },
        '400': errorResponse(
          'A user id that is not a positive integer, a `from` or `to` that is not a date or a date-time with an offset, ' +
            'or `from` after `to` (`ValidationError` with `issues`).',
          {
            status: 400,
            name: 'ValidationError',
            message: 'Invalid query.from: must not be after query.to',
            issues: [{ path: 'query.from', message: 'must not be after query.to' }],
          },
        ),
        '404': errorResponse(
          "No user with this id, or (a user's token, JWT mode) another user than the token's: the same answer (`NotFoundError`).",
          { status: 404, message: 'User 42 not found' },
        ),
        ...errors(401, 500, 503),
      },
    },
  },
};
