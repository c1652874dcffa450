import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { drainDelayMs, healthChecks, renderHaproxyConfig } from '../scripts/haproxy-config.js';
import { exitOf, findTool, spawnGroup, stopGroup } from './cluster-tools.js';
import { waitUntilUp } from './processes.js';

/**
 * ops/haproxy/haproxy.cfg: valid as shipped (`haproxy -c`), and run for real with only its
 * addresses changed: two project-service processes and an aggregator behind it, steady creations
 * and reads through the balancer while one replica is sent SIGTERM (and drains): no request fails,
 * and every event reaches the aggregator through the balancer's other frontend.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shipped = path.join(root, 'ops/haproxy/haproxy.cfg');
const haproxy = findTool('haproxy');
if (!haproxy)
  console.warn(
    'test/haproxy.test.ts: haproxy is not installed (apt-get install haproxy); skipping the HAProxy configuration check and run',
  );
const token = 'haproxy-test-token-0123456789';
const run = haproxy ? it : it.skip;

run('the shipped configuration is valid (haproxy -c)', () => {
  const check = spawnSync(haproxy!, ['-c', '-f', shipped], { encoding: 'utf8' });
  expect(check.stderr + check.stdout).toContain('Configuration file is valid');
  expect(check.status).toBe(0);
});

it('renders the shipped file with other addresses, changing nothing else', () => {
  const text = readFileSync(shipped, 'utf8');
  const rendered = renderHaproxyConfig(text, {
    project: { bind: '127.0.0.1:4000', servers: ['127.0.0.1:4100', '127.0.0.1:4101', '127.0.0.1:4102'] },
    aggregator: { bind: '127.0.0.1:4001', servers: ['127.0.0.1:4200'] },
  });
  const withoutAddresses = (t: string) =>
    t
      .split('\n')
      .filter((l) => !/^\s+(bind|server)\s/.test(l))
      .join('\n');
  expect(withoutAddresses(rendered)).toBe(withoutAddresses(text));
  expect(rendered).toContain('    bind 127.0.0.1:4000\n');
  expect(rendered.match(/^ {4}server project-\d 127\.0\.0\.1:410\d$/gm)).toHaveLength(3);
  expect(rendered.match(/^ {4}server aggregator-1 127\.0\.0\.1:4200$/gm)).toHaveLength(1);
});

describe('a real HAProxy in front of real replicas', () => {
  let project: TestDatabase;
  let aggregator: TestDatabase;
  let dir: string;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map((c) => stopGroup(c)));
    if (dir) rmSync(dir, { recursive: true, force: true });
    await Promise.all([project?.drop(), aggregator?.drop()]);
  });

  run(
    'a replica sent SIGTERM under steady load: no request fails, every event is delivered through the balancer',
    async () => {
      [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
      const [user] = await project.db('users').insert({ email: 'h@example.com', username: 'h' }).returning('id');
      const [p] = await project
        .db('projects')
        .insert({ name: 'h', user_id: user!.id, app_secret_sha256: sha256('h'.repeat(32)) })
        .returning('id');
      const [front, aggFront, replica1, replica2, aggPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);

      const common = {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        PROJECT_SERVICE_TOKEN: token,
        AGGREGATOR_SERVICE_TOKEN: token,
        TRUST_PROXY: 'true',
        PUBLIC_BASE_URL: 'http://localhost:3000',
      };
      const aggregatorProcess = spawnGroup(process.execPath, [path.join(root, 'aggregator-service/dist/src/main.js')], {
        ...common,
        AGGREGATOR_DATABASE_URL: aggregator.url,
        AGGREGATOR_SERVICE_PORT: String(aggPort),
        AGGREGATOR_SERVICE_HOST: '127.0.0.1',
      });
      // The drain npm run cluster gives its replicas: it outlasts the configuration's detection time.
      const replica = (port: number) =>
        spawnGroup(process.execPath, [path.join(root, 'project-service/dist/src/main.js')], {
          ...common,
          PROJECT_DATABASE_URL: project.url,
          PROJECT_SERVICE_PORT: String(port),
          PROJECT_SERVICE_HOST: '127.0.0.1',
          AGGREGATOR_URL: `http://127.0.0.1:${aggFront}`,
          SHUTDOWN_DRAIN_DELAY_MS: String(drainDelayMs(healthChecks(readFileSync(shipped, 'utf8')))),
        });
      const [first, second] = [replica(replica1), replica(replica2)];
      children.push(aggregatorProcess, first, second);
      await Promise.all([waitUntilUp(aggPort), waitUntilUp(replica1), waitUntilUp(replica2)]);

      dir = mkdtempSync(path.join(tmpdir(), 'haproxy-test-'));
      const config = path.join(dir, 'haproxy.cfg');
      writeFileSync(
        config,
        renderHaproxyConfig(readFileSync(shipped, 'utf8'), {
          project: { bind: `127.0.0.1:${front}`, servers: [`127.0.0.1:${replica1}`, `127.0.0.1:${replica2}`] },
          aggregator: { bind: `127.0.0.1:${aggFront}`, servers: [`127.0.0.1:${aggPort}`] },
        }),
      );
      const balancer = spawnGroup(haproxy!, ['-db', '-f', config], {});
      children.push(balancer);
      await waitUntilUp(front);
      await waitUntilUp(aggFront);

      // Steady load: four clients, each creating a deployment and reading the project in turn.
      const failures: string[] = [];
      let requests = 0;
      let created = 0;
      let afterExit = 0;
      let firstExited = false;
      let stop = false;
      const client = async () => {
        while (!stop) {
          const creating = requests % 2 === 0;
          requests++;
          try {
            const res = await fetch(`http://127.0.0.1:${front}/projects/${p!.id}${creating ? '/deployments' : ''}`, {
              method: creating ? 'POST' : 'GET',
              headers: { authorization: `Bearer ${token}` },
            });
            await res.arrayBuffer();
            if (res.status !== (creating ? 201 : 200)) failures.push(`${creating ? 'POST' : 'GET'} ${res.status}`);
            else if (creating) created++;
            if (firstExited) afterExit++;
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            failures.push(`${creating ? 'POST' : 'GET'} ${(err as Error).message} ${cause?.code ?? cause?.message ?? ''}`);
          }
        }
      };
      const clients = Promise.all([client(), client(), client(), client()]);
      await new Promise((r) => setTimeout(r, 1_000));
      first.kill('SIGTERM');
      expect(await exitOf(first)).toBe(0);
      firstExited = true;
      await new Promise((r) => setTimeout(r, 1_000));
      stop = true;
      await clients;

      if (process.env.CLUSTER_REPORT)
        process.stdout.write(
          `haproxy: ${requests} requests (${created} creations), ${failures.length} failed, ${afterExit} after the replica exited\n`,
        );
      expect(failures).toEqual([]);
      expect(afterExit).toBeGreaterThan(0);
      expect(created).toBeGreaterThan(10);
      // Every creation's event reached the aggregator, through the balancer's aggregator frontend.
      const deadline = Date.now() + 15_000;
      let stored = 0;
      while (Date.now() < deadline) {
        stored = Number((await aggregator.db('events').count<{ count: number }[]>('* as count'))[0]!.count);
        if (stored >= created) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(stored).toBe(created);
    },
    60_000,
  );
});
