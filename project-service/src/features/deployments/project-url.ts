import { randomBytes } from 'node:crypto';

/** A DNS label from a project name: lower case, `[a-z0-9-]`, no leading or trailing hyphen. */
export function dnsLabel(name: string, max: number): string {
  const label = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // é → e, not e-
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return label || 'project';
}

/**
 * The public URL a project gets with its first successful deployment:
 * `https://<project-name>-<random>.<domain>`, the random part making it unguessable and unique.
 */
export function generateProjectUrl(name: string, domain: string, random = randomBytes(5).toString('hex')): string {
  return `https://${dnsLabel(name, 63 - random.length - 1)}-${random}.${domain}`;
}
