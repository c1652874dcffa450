import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { loadConfig as loadAggregatorConfig } from '../aggregator-service/src/config.js';
import { loadConfig as loadProjectConfig } from '../project-service/src/config.js';

/**
 * ops/kubernetes/ against the Kubernetes object schemas (kubernetes-models: types, formats,
 * required fields), with unknown fields refused too (the schemas allow them; a TypeScript
 * excess-property check against the same models' types does not), and against the services:
 * every variable is one they read, the values pass their config schemas, the probes hit the
 * health routes, and the grace period covers the drain.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'ops/kubernetes');

const MODELS = {
  'apps/v1 Deployment': { model: Deployment, type: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'] },
  'batch/v1 Job': { model: Job, type: ['kubernetes-models/batch/v1/Job', 'IJob'] },
  'policy/v1 PodDisruptionBudget': {
    model: PodDisruptionBudget,
    type: ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  },
  'v1 ConfigMap': { model: ConfigMap, type: ['kubernetes-models/v1/ConfigMap', 'IConfigMap'] },
  'v1 Secret': { model: Secret, type: ['kubernetes-models/v1/Secret', 'ISecret'] },
  'v1 Service': { model: Service, type: ['kubernetes-models/v1/Service', 'IService'] },
} as const;
type Kind = keyof typeof MODELS;

interface Doc {
  file: string;
  kind: Kind;
  object: any;
}

function load(): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object = doc.toJS();
      const kind = `${object.apiVersion} ${object.kind}`;
      if (!(kind in MODELS)) throw new Error(`${file}: no model for ${kind}`);
      docs.push({ file, kind: kind as Kind, object });
    }
  }
  return docs;
}

/** Type-checks each object as a literal of its model's interface; returns the compiler's complaints. */
function typeErrors(docs: Doc[]): string[] {
  const imports = new Map<string, string>();
  const lines = docs.map((d, i) => {
    const [module, name] = MODELS[d.kind].type;
    imports.set(name, module);
    return `// ${d.file}\nexport const doc${i}: ${name} = ${JSON.stringify(d.object, null, 2)};`;
  });
  const source = [...imports].map(([name, module]) => `import type { ${name} } from '${module}';`).join('\n') + '\n' + lines.join('\n');
  const file = path.join(root, 'test', '__kubernetes_manifests__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => f === file || fileExists(f);
  host.readFile = (f) => (f === file ? source : readFile(f));
  host.getSourceFile = (f, language, ...rest) =>
    f === file ? ts.createSourceFile(f, source, language) : getSourceFile(f, language, ...rest);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const context = where
      ? source
          .split('\n')
          .slice(0, where.line + 1)
          .reverse()
          .find((l) => l.startsWith('// '))
      : undefined;
    return `${context ?? ''} line ${where ? where.line + 1 : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const docs = load();
const all = (kind: Kind) => docs.filter((d) => d.kind === kind).map((d) => d.object);
const configMap = all('v1 ConfigMap')[0];
const secret = all('v1 Secret')[0];

it('every object validates against its Kubernetes schema', () => {
  expect(docs.length).toBeGreaterThanOrEqual(9);
  const problems: string[] = [];
  for (const d of docs) {
    try {
      new MODELS[d.kind].model(d.object as never).validate();
    } catch (err) {
      problems.push(`${d.file} ${d.kind} ${d.object.metadata?.name}: ${(err as Error).message}`);
    }
  }
  expect(problems).toEqual([]);
  // The check itself: a port given by name where the schema wants a number is refused.
  const broken = structuredClone(docs.find((d) => d.kind === 'apps/v1 Deployment')!);
  broken.object.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  expect(() => new Deployment(broken.object).validate()).toThrow(/containerPort must be integer/);
});

it('no object has a field its type does not know (a misspelt field fails)', () => {
  expect(typeErrors(docs)).toEqual([]);
  // The check itself: a misspelt probe field and a wrong type are caught.
  const broken = structuredClone(docs.find((d) => d.kind === 'apps/v1 Deployment')!);
  broken.object.spec.template.spec.containers[0].readinessProbe.periodSecond = 2;
  broken.object.spec.replicas = 'two';
  const errors = typeErrors([broken]);
  expect(errors).toHaveLength(2);
  expect(errors.join('\n')).toMatch(/'"?periodSecond"?' does not exist in type 'IProbe'/);
  expect(errors.join('\n')).toMatch(/Type 'string' is not assignable to type 'number'/);
});

it('kustomization.yaml lists every manifest except the Secret example', () => {
  const kustomization = parseAllDocuments(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS();
  const files = [...new Set(docs.map((d) => d.file))].filter((f) => f !== 'secret.example.yaml');
  expect([...kustomization.resources].sort()).toEqual(files.sort());
  expect(docs.filter((d) => d.kind === 'v1 Secret').map((d) => d.file)).toEqual(['secret.example.yaml']);
});

it('the Deployments: probes on the health routes, a grace period that covers the drain, secrets referenced, variables the services read', () => {
  const deployments = all('apps/v1 Deployment');
  expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['aggregator-service', 'project-service']);
  const drainMs = Number(configMap.data.SHUTDOWN_DRAIN_DELAY_MS);
  const readBySome = new Set<string>();
  for (const deployment of deployments) {
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits).toBeDefined();
    // Readiness fails within the drain (the balancer side), and the pod is not killed before
    // the drain, the 8 s of in-flight grace and the relay's release are over.
    const { periodSeconds, failureThreshold, timeoutSeconds } = container.readinessProbe;
    expect((periodSeconds * failureThreshold + timeoutSeconds) * 1000).toBeLessThan(drainMs);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(drainMs + 8_000 + 5_000);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);

    // Secrets come from the Secret by reference, never inline; each key exists in the example.
    const env: Array<{ name: string; value?: string; valueFrom?: any }> = container.env;
    for (const e of env.filter((e) => /TOKEN|DATABASE_URL|PASSWORD|SECRET/.test(e.name))) {
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(e.valueFrom.secretKeyRef.key);
    }
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);

    // What the pod's environment would be (secrets from the example) passes the service's own config schema.
    const podEnv: Record<string, string> = { ...configMap.data };
    for (const e of env) podEnv[e.name] = e.value ?? secret.stringData[e.valueFrom.secretKeyRef.key];
    const load = deployment.metadata.name === 'project-service' ? loadProjectConfig : loadAggregatorConfig;
    const config: Record<string, unknown> = load(podEnv);
    for (const e of env) expect([e.name, e.name in config]).toEqual([e.name, true]);
    for (const name of Object.keys(configMap.data)) if (name in config) readBySome.add(name);

    // The Service and the PodDisruptionBudget select these pods, on a port the container names.
    const labels = deployment.spec.template.metadata.labels;
    const service = all('v1 Service').find((s) => s.metadata.name === deployment.metadata.name);
    const pdb = all('policy/v1 PodDisruptionBudget').find((p) => p.metadata.name === deployment.metadata.name);
    for (const selector of [service.spec.selector, pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels]) {
      expect(labels).toMatchObject(selector);
    }
    expect(container.ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
  }
  // The shared ConfigMap holds nothing neither service reads (a misspelt variable name).
  expect(Object.keys(configMap.data).filter((name) => !readBySome.has(name))).toEqual([]);
});

it('the migration Job runs the migrate command with the database URLs from the Secret', () => {
  const [job] = all('batch/v1 Job');
  const [container] = job.spec.template.spec.containers;
  expect(container.command).toEqual(['node', 'scripts/dist/migrate.js']);
  const refs = container.env.filter((e: any) => e.valueFrom).map((e: any) => [e.name, e.valueFrom.secretKeyRef.key]);
  expect(refs).toEqual([
    ['PROJECT_DATABASE_URL', 'PROJECT_DATABASE_URL'],
    ['AGGREGATOR_DATABASE_URL', 'AGGREGATOR_DATABASE_URL'],
  ]);
});
