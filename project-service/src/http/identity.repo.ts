import { statement, type Knex, type TokenIdentity } from '@hosting/shared';

/**
 * At most two users: the one linked to the subject first, then
 * the unlinked ones whose address matches case-insensitively. A user linked to a subject is reached
 * by that subject only: once an operator linked the account, another login of the same address
 * (another connection of the provider, another subject) does not get in. Served by the indexes of
 * migration 20261122000300 (a BitmapOr of both).
 */
const findUser = statement<{ subject: string; email: string | null }, { id: number; by_subject: boolean }>(
  'identity_find_user',
  `select id, (auth_subject is not null and auth_subject = :subject) as by_subject
   from users
   where auth_subject = :subject
      or (:email::text is not null and auth_subject is null and lower(email) = lower(:email::text))
   order by by_subject desc
   limit 2`,
);

/**
 * Which of our users a verified token is. Found mappings are kept for `cacheMs` (default 60 s, at
 * most 10,000 identities), so a user's requests cost no extra statement; a token that maps to
 * nobody is looked up each time (a user created a moment ago gets in at once).
 */
export function createIdentityRepo(db: Knex, options: { cacheMs?: number; maxCached?: number } = {}) {
  const cacheMs = options.cacheMs ?? 60_000;
  const maxCached = options.maxCached ?? 10_000;
  const cache = new Map<string, { userId: number; until: number }>();

  return {
    async findUser(identity: TokenIdentity): Promise<number | undefined> {
      const key = `${identity.subject}\n${identity.email ?? ''}`;
      const hit = cache.get(key);
      if (hit && hit.until > Date.now()) return hit.userId;
      const { rows } = await findUser.run(db, { subject: identity.subject, email: identity.email ?? null });
      // The subject wins; else exactly one address match (two rows: an address shared by accounts
      // that differ only in case, which maps to nobody).
      const userId = rows[0]?.by_subject ? rows[0].id : rows.length === 1 ? rows[0]!.id : undefined;
      if (userId === undefined) return undefined;
      if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
      cache.set(key, { userId, until: Date.now() + cacheMs });
      return userId;
    },
  };
}

export type IdentityRepo = ReturnType<typeof createIdentityRepo>;
