import { attackOperations, declaredBodyFields, type AttackOperation, type Json } from './document.js';
import { PROTECTED_FIELDS } from './bodies.js';

/** A value a client might try for each protected field (any value must be refused). */
const PROTECTED_VALUES: Record<string, unknown> = {
  id: 999_999,
  status: 'done',
  url: 'https://evil.example',
  app_secret: 'chosen-by-client',
  appSecret: 'chosen-by-client',
  app_secret_sha256: '00',
  secret: 'chosen-by-client',
  userId: 1,
  user_id: 1,
  projectId: 1,
  project_id: 1,
  deploymentId: 1,
  createdAt: '2000-01-01T00:00:00.000Z',
  created_at: '2000-01-01T00:00:00.000Z',
  updatedAt: '2000-01-01T00:00:00.000Z',
  updated_at: '2000-01-01T00:00:00.000Z',
  deployedIn: 0,
  deployed_in: 0,
  hasLiveDeployment: true,
  role: 'admin',
  isAdmin: true,
};

export interface MassAssignmentCase {
  operation: AttackOperation;
  field: string;
  /** The raw JSON text of `{ ...base, [field]: value }`, with `__proto__` kept as an own key. */
  bodyText(base: unknown): string;
}

/**
 * For every operation of the document that takes a body: each protected field (PROTECTED_FIELDS,
 * plus `__proto__` and `constructor`) the body schema does not declare. Sending it must be a 400
 * naming the field, and write nothing.
 */
export function massAssignmentCases(document: Json): MassAssignmentCase[] {
  const cases: MassAssignmentCase[] = [];
  for (const operation of attackOperations(document)) {
    if (!operation.body) continue;
    const declared = declaredBodyFields(document, operation.body.schema);
    for (const field of [...PROTECTED_FIELDS, '__proto__', 'constructor']) {
      if (declared.has(field)) continue;
      const value = field === '__proto__' || field === 'constructor' ? { status: 'done', isAdmin: true } : (PROTECTED_VALUES[field] ?? 'x');
      cases.push({
        operation,
        field,
        bodyText: (base) => {
          const text = JSON.stringify(base ?? {});
          const extra = `${JSON.stringify(field)}:${JSON.stringify(value)}`;
          return text === '{}' ? `{${extra}}` : `{${extra},${text.slice(1)}`;
        },
      });
    }
  }
  return cases;
}
