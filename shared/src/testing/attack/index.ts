/**
 * The attack suite's machinery: every operation of a service's OpenAPI document driven with
 * generated hostile input (path ids, query strings, bodies, headers), sent as raw bytes over
 * node:http (so a doubled `Authorization`, invalid UTF-8 and non-JSON bodies really go out), and
 * each answer held to the properties of the issue:
 *
 *   - no 5xx, and a 4xx carries the contract's error body (checked by the service's contract);
 *   - a request whose credential is not one the operation takes never gets a 2xx;
 *   - a rejected request (4xx) leaves every table as it was (a digest of each table's rows).
 *
 * Seeded and bounded: `FC_SEED` (and `FC_PATH`) replay a failure, `FC_RUNS` changes the count;
 * the seed is printed when the run starts and fast-check prints it with the counterexample.
 *
 * One file per job: document.ts reads the OpenAPI document (the only file that knows its shape);
 * values.ts (path and query), bodies.ts and headers.ts generate hostile input; requests.ts plans
 * a request from them; send.ts sends it as raw bytes; digests.ts and run.ts hold each answer to
 * the properties; mass-assignment.ts lists the protected fields each body must refuse.
 */
export { attackOperations, declaredBodyFields, type AttackOperation, type AttackParameter } from './document.js';
export { HOSTILE_SCALARS, hostileValue } from './values.js';
export { PROTECTED_FIELDS } from './bodies.js';
export { attackRequests, describeRequest, type AttackRequest, type AttackTarget } from './requests.js';
export { sendRaw, type AttackResponse } from './send.js';
export { tableDigests } from './digests.js';
export { assertProblem, runAttack, type AttackOptions, type AttackReport } from './run.js';
export { massAssignmentCases, type MassAssignmentCase } from './mass-assignment.js';
