import { EVENT_NAMES } from '@hosting/shared';
import { formatDuration, summarize } from './summary.js';

const common = { projectId: 1, projectName: 'shop', userId: 3, deploymentId: 42, source: 'api', requestId: 'req-1' } as const;

describe('summarize', () => {
  it.each([
    ['deployment.created', { status: 'pending' }, 'Deployment #42 created'],
    ['deployment.status_changed', { from: 'building', to: 'deploying', deployedIn: null }, 'Deployment #42: building → deploying'],
    ['deployment.status_changed', { from: 'deploying', to: 'done', deployedIn: 37 }, 'Deployment #42: deploying → done'],
    ['deployment.succeeded', { deployedIn: 37 }, 'Deployment #42 finished in 37 s'],
    ['deployment.succeeded', { deployedIn: 125 }, 'Deployment #42 finished in 2 min 5 s'],
    ['deployment.failed', { from: 'building' }, 'Deployment #42 failed (was building)'],
    ['deployment.cancelled', { from: 'pending' }, 'Deployment #42 cancelled (was pending) via API'],
    ['deployment.cancelled', { from: 'deploying', source: 'webhook' }, 'Deployment #42 cancelled (was deploying) via webhook'],
    [
      'project.url_assigned',
      { url: 'https://shop-3f9a1c0b2e.hosting.localhost' },
      'Project got its URL https://shop-3f9a1c0b2e.hosting.localhost',
    ],
  ])('%s %j → %s', (name, extra, sentence) => {
    expect(summarize(name, { ...common, ...extra })).toBe(sentence);
  });

  it('has a sentence of its own for every catalogue event', () => {
    const samples: Record<string, Record<string, unknown>> = {
      'deployment.created': { status: 'pending' },
      'deployment.status_changed': { from: 'pending', to: 'building', deployedIn: null },
      'deployment.succeeded': { deployedIn: 1 },
      'deployment.failed': { from: 'pending' },
      'deployment.cancelled': { from: 'pending' },
      'project.url_assigned': { url: 'https://a.example' },
      'project.secret_rotated': { deploymentId: undefined, rotatedAt: '2026-11-22T10:00:00.000Z' }, // not about a deployment
      'project.updated': { deploymentId: undefined, source: 'seed', requestId: null, changes: { name: { from: 'a', to: 'b' } } },
      'user.updated': {
        projectId: undefined,
        projectName: undefined,
        deploymentId: undefined,
        source: 'seed',
        requestId: null,
        changes: { email: { from: 'a@example.com', to: 'b@example.com' } },
      },
    };
    expect(Object.keys(samples).sort()).toEqual([...EVENT_NAMES].sort());
    for (const name of EVENT_NAMES) {
      const payload = Object.fromEntries(Object.entries({ ...common, ...samples[name] }).filter(([, v]) => v !== undefined));
      const sentence = summarize(name, payload);
      expect({ name, generic: sentence.startsWith('Event ') }).toEqual({ name, generic: false });
    }
  });

  it('lists what the seed loader changed', () => {
    const { deploymentId: _d, ...project } = common;
    const changes = {
      name: { from: 'shop', to: 'store' },
      createdAt: { from: '2023-01-01T00:00:00.000Z', to: '2024-01-01T00:00:00.000Z' },
    };
    expect(summarize('project.updated', { ...project, source: 'seed', requestId: null, changes })).toBe(
      'Project changed by npm run seed: name "shop" → "store", createdAt "2023-01-01T00:00:00.000Z" → "2024-01-01T00:00:00.000Z"',
    );
    expect(summarize('user.updated', { userId: 3, source: 'seed', requestId: null, changes: { username: { from: 'a', to: 'b' } } })).toBe(
      'User #3 changed by npm run seed: username "a" → "b"',
    );
  });

  it('says that a secret was rotated, and nothing of the secret', () => {
    const { deploymentId: _d, ...project } = common;
    expect(summarize('project.secret_rotated', { ...project, rotatedAt: '2026-11-22T10:00:00.000Z' })).toBe('App secret rotated via API');
    // A payload carrying anything more (a secret slipped in by hand) is not the catalogue's: the generic line, nothing of it.
    expect(summarize('project.secret_rotated', { ...project, rotatedAt: '2026-11-22T10:00:00.000Z', appSecret: 'leak' })).toBe(
      'Event project.secret_rotated',
    );
  });

  it('is generic for a name outside the catalogue, naming the deployment when there is one', () => {
    expect(summarize('build.started', { deploymentId: 7 })).toBe('Event build.started on deployment #7');
    expect(summarize('project.renamed', { projectId: 1 })).toBe('Event project.renamed');
    expect(summarize('project.renamed', { deploymentId: 'x' })).toBe('Event project.renamed');
  });

  it('is generic for a catalogue name whose payload does not fit its schema', () => {
    expect(summarize('deployment.failed', { deploymentId: 42 })).toBe('Event deployment.failed on deployment #42');
    expect(summarize('deployment.succeeded', {})).toBe('Event deployment.succeeded');
  });

  it('does not take inherited names for catalogue ones', () => {
    expect(summarize('constructor', {})).toBe('Event constructor');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [37, '37 s'],
    [59, '59 s'],
    [60, '1 min'],
    [125, '2 min 5 s'],
    [3599, '59 min 59 s'],
    [3600, '1 h'],
    [3720, '1 h 2 min'],
    [90_061, '25 h 1 min'],
  ])('%d s → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
