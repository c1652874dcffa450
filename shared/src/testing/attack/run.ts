import fc from 'fast-check';
import type { Contract } from '../contract.js';
import type { Knex } from '../../db/knex.js';
import { tableDigests } from './digests.js';
import type { Json } from './document.js';
import { attackRequests, describeRequest, type AttackRequest, type AttackTarget } from './requests.js';
import { sendRaw, type AttackResponse } from './send.js';

// The property each answer is held to, and the run that drives it.

/** Throws unless `body` is the contract's error body for `status`. */
export function assertProblem(status: number, body: unknown): void {
  const b = body as Json | null;
  const ok =
    b !== null &&
    typeof b === 'object' &&
    !Array.isArray(b) &&
    typeof b.name === 'string' &&
    b.name.length > 0 &&
    typeof b.message === 'string' &&
    b.message.length > 0 &&
    typeof b.type === 'string' &&
    typeof b.title === 'string' &&
    typeof b.detail === 'string' &&
    b.status === status;
  if (!ok) throw new Error(`${status}: not the contract's error body: ${JSON.stringify(body)?.slice(0, 300)}`);
}

export interface AttackOptions extends AttackTarget {
  /** The service, listening: `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** Each answer is checked against it (the service's own document, strictly, and any other). */
  contract: Contract;
  /** The service's database, for the digests. */
  db: Knex;
  /** Tables that change by design whatever the requests (see tableDigests). */
  excludeTables?: string[];
  /** A name for the log line with the seed. */
  label: string;
  /** Requests to generate (`FC_RUNS` overrides). A count, not a time budget: a seed replays the same run on any machine. */
  numRuns?: number;
  /** Called with every request and answer (for tests that scan them). */
  onResponse?: (request: AttackRequest, response: AttackResponse) => void;
}

export interface AttackReport {
  seed: number;
  runs: number;
  /** Answers per status. */
  statuses: Record<number, number>;
  /** Answers per operation and status class, e.g. `{ 'get /projects/{id}': { '2xx': 3, '4xx': 40 } }`. */
  operations: Record<string, Record<string, number>>;
}

/** Checks one answer against the properties; throws with the reason. */
async function checkAnswer(
  options: AttackOptions,
  request: AttackRequest,
  response: AttackResponse,
  before: Record<string, string>,
): Promise<void> {
  const { status } = response;
  if (status >= 500 || status < 200) throw new Error(`status ${status}: ${response.text.slice(0, 300)}`);
  if (status >= 400) assertProblem(status, response.body);
  // The router matches `/projects/` as `/projects` (an empty id makes one): the contract knows the latter.
  const [pathname, query] = request.path.split('#')[0]!.split(/\?(.*)/s) as [string, string | undefined];
  const path = (pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname) + (query !== undefined ? `?${query}` : '');
  // The contract knows documented methods; another method's answer must be an error (its body is checked above).
  if (!request.documented && status < 400)
    throw new Error(`${request.method} is not documented at ${request.operation.split(' ')[1]}, yet it got ${status}`);
  if (request.documented)
    options.contract.check(request.method.toLowerCase(), path, status, response.body, response.contentType, response.headers);
  if (!request.authorised && status < 400)
    throw new Error(`a request without a credential this operation takes (${request.auth}) got ${status}`);
  if (status >= 400) {
    const after = await tableDigests(options.db, options.excludeTables);
    const changed = Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
    if (changed.length) throw new Error(`rejected with ${status}, yet the table(s) ${changed.join(', ')} changed`);
  }
}

/**
 * Runs the attack: `numRuns` generated requests (default 400, or `FC_RUNS`), each checked
 * against the properties above. Throws with fast-check's report (seed, path, the shrunk request)
 * on the first violation. No time limit: one that ends the run early checks fewer requests on a
 * busy machine (none at all, a failure, when the first outlasts it), and a seed no longer replays it.
 */
export async function runAttack(options: AttackOptions): Promise<AttackReport> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() ^ (Math.random() * 0x7fffffff);
  const path = process.env.FC_PATH;
  const numRuns = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : (options.numRuns ?? 400);
  // One line, so that a run in CI can be replayed: FC_SEED=<seed> (FC_PATH=<path> from a failure report).
  process.stdout.write(
    `[attack ${options.label}] seed ${seed}${path ? ` path ${path}` : ''}, ${numRuns} runs; replay with FC_SEED=${seed}\n`,
  );
  const report: AttackReport = { seed, runs: 0, statuses: {}, operations: {} };
  await fc.assert(
    fc.asyncProperty(attackRequests(options), async (request) => {
      const before = await tableDigests(options.db, options.excludeTables);
      let response: AttackResponse;
      try {
        // A connection per request: a socket the server closed after refusing an unread body would
        // otherwise be reused, and its reset would look like the service's.
        response = await sendRaw(options.baseUrl, request);
      } catch (err) {
        throw new Error(`no answer (${(err as Error).message}) to ${describeRequest(request)}`);
      }
      report.runs++;
      report.statuses[response.status] = (report.statuses[response.status] ?? 0) + 1;
      const byOp = (report.operations[request.operation] ??= {});
      const cls = `${String(response.status)[0]}xx`;
      byOp[cls] = (byOp[cls] ?? 0) + 1;
      options.onResponse?.(request, response);
      try {
        await checkAnswer(options, request, response, before);
      } catch (err) {
        throw new Error(
          `${(err as Error).message}\n  request: ${describeRequest(request)}\n  answer: ${response.status} ${response.text.slice(0, 400)}`,
        );
      }
    }),
    {
      seed,
      ...(path ? { path } : {}),
      numRuns,
      endOnFailure: !!process.env.FC_NO_SHRINK,
      includeErrorInReport: true,
    },
  );
  process.stdout.write(`[attack ${options.label}] ${report.runs} requests, statuses ${JSON.stringify(report.statuses)}\n`);
  return report;
}
