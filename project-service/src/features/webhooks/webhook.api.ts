import { z } from 'zod';
import { answerHeaders, errorResponse, errors, requestIdParam, wwwAuthenticateHeader, type RouteTable } from '@hosting/shared';
import { DEPLOYMENT_STATUSES, WEBHOOK_HEADER_OUTCOMES, webhookOutcome } from '../deployments/deployment-status.js';
import { deploymentSchema } from '../deployments/deployments.schema.js';
import { webhookBody } from './webhook.schema.js';

/** What the CI webhook answers: the route table of `POST /deployment/webhook`. */

/** The webhook's rules as a table, written from webhookOutcome itself (a 409 for `conflict`). */
const STATE_MACHINE = `
| from \\ to | ${DEPLOYMENT_STATUSES.join(' | ')} |
|${' --- |'.repeat(DEPLOYMENT_STATUSES.length + 1)}
${DEPLOYMENT_STATUSES.map((from) => `| **${from}** | ${DEPLOYMENT_STATUSES.map((to) => webhookOutcome(from, to).replace('conflict', '409')).join(' | ')} |`).join('\n')}
`;

export const webhookApi: RouteTable = {
  '/deployment/webhook': {
    post: {
      tags: ['deployment'],
      operationId: 'deploymentStatusUpdate',
      summary: 'Update the status of a deployment',
      description: `For CI systems: reports the status a deployment reached. Authenticated by the **app secret of the
deployment's project** as bearer token (scheme \`webhook\`), not by the admin token.

The state machine: \`pending → building → deploying → done\`, and a sender may skip forward (\`pending → done\`);
\`failed\` and \`cancelled\` from any status that is not final; \`done\`, \`failed\` and \`cancelled\` are final.
What a report of \`to\` does to a deployment in \`from\`:
${STATE_MACHINE}
- **apply**: the deployment moves, its events are written (\`deployment.status_changed\`, and
  \`deployment.succeeded\`/\`failed\`/\`cancelled\` on reaching one); on \`done\`, \`deployedIn\` is set (whole seconds
  since creation, by the database clock) and a project without a URL gets one (exactly once).
- **same**: it is already in that status (a repeated delivery): 200, nothing changes, no event.
- **stale**: the report is behind the current status, a final one included (deliveries arrive out of order: a
  late \`building\` after \`done\` is the past, and a sender that retries non-2xx answers must not retry it): 200,
  nothing changes.
- **409**: one final status reported over another (\`failed\` after \`done\`, \`done\` after a cancel): a real
  contradiction the sender should hear about (\`ConflictError\`); nothing changes.

The \`X-Webhook-Outcome\` header of a 200 says which of the three it was; \`webhook_outcomes_total{outcome}\` on
\`/metrics\` counts the same words, plus \`conflict\` (the 409) and \`rejected\` (any other error). Concurrent deliveries never lose or
double a transition. A missing or wrong secret **and** an unknown deployment id are the same 401, so the endpoint
tells a guesser nothing.`,
      security: [{ webhook: [] }],
      parameters: [requestIdParam],
      requestBody: {
        required: true,
        description: 'The deployment and the status it reached; no other field (at most 4 kB).',
        content: { 'application/json': { schema: webhookBody, example: { id: 1, status: 'building' } } },
      },
      responses: {
        '200': {
          description: 'The deployment as it is now, whether or not this report changed it.',
          headers: answerHeaders({
            'X-Webhook-Outcome': z.enum(WEBHOOK_HEADER_OUTCOMES).meta({
              description:
                'What this report did: `apply` (the deployment moved), `same` (already in that status), `stale` (behind the current status; nothing changed).',
            }),
          }),
          content: { 'application/json': { schema: deploymentSchema } },
        },
        '401': errorResponse(
          'Missing or wrong app secret, or an unknown deployment id: the same answer for both (`UnauthorizedError`).',
          { status: 401, message: 'Missing or invalid credentials' },
          { 'WWW-Authenticate': wwwAuthenticateHeader },
        ),
        '409': errorResponse(
          'The deployment is in a final status (`done`, `failed`, `cancelled`) and the report is another final one (`ConflictError`). Nothing changed.',
          { status: 409, message: 'Deployment 42 is done, a final status; it cannot become failed' },
        ),
        ...errors(400, 413, 415, 500, 503),
      },
    },
  },
};
