import { describe, expect, it } from 'vitest';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { AGENT_RULES, agentManifests, clusterUid, deploymentManifest, type AgentSettings } from '../../src/setup-agent/manifests.js';
import { deploymentRolloutState, podProblem } from '../../src/lib/kubernetes-rollout.js';
import { NO_PLACEMENT } from '../../src/lib/pod-placement.js';

const SETTINGS: AgentSettings = {
  namespace: 'bakery',
  serviceAccount: 'bakery-worker',
  workloadIdentityClientId: '0f9e8d7c-6b5a-4321-9876-543210fedcba',
  image: `bakeryacr.azurecr.io/bakery/worker@sha256:${'ab'.repeat(32)}`,
  workPool: 'bakery',
  prefectApiUrl: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
  prefectApiKey: 'pnu_manifestTestKey',
  replicas: 2,
  resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  placement: NO_PLACEMENT,
  clusterUid: clusterUid('00000000-0000-0000-0000-000000000000', 'rg-bakery-dev', 'aks-bakery-dev'),
};

const MODELS: Record<string, new (data: never) => { validate(): void }> = { Namespace, Secret, ServiceAccount, Role, RoleBinding, Deployment };

describe('agent manifests', () => {
  it('are valid against the Kubernetes OpenAPI schemas (kubernetes-models)', () => {
    const manifests = agentManifests(SETTINGS);
    expect(manifests.map((manifest) => manifest.kind)).toEqual(['Namespace', 'Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'Deployment']);
    for (const manifest of manifests) expect(() => new MODELS[manifest.kind]!(manifest as never).validate(), manifest.kind).not.toThrow();
  });

  it('the schema check can fail: a broken Deployment is rejected', () => {
    const broken = deploymentManifest(SETTINGS) as unknown as { spec: { template: { spec: { containers: { image: unknown }[] } } } };
    broken.spec.template.spec.containers[0]!.image = 42;
    expect(() => new Deployment(broken as never).validate()).toThrow(/image must be string/);
  });

  it('puts the worker pod where the flow pods go (tolerations and node selector), and adds nothing without a placement', () => {
    const placement = { tolerations: [{ key: 'kubernetes.azure.com/scalesetpriority', operator: 'Equal' as const, value: 'spot', effect: 'NoSchedule' as const }], nodeSelector: { 'bakery.pangeo-forge.org/pool': 'workers' } };
    const deployment = deploymentManifest({ ...SETTINGS, placement });
    expect(deployment.spec?.template.spec?.tolerations).toEqual(placement.tolerations);
    expect(deployment.spec?.template.spec?.nodeSelector).toEqual(placement.nodeSelector);
    expect(() => new Deployment(deployment as never).validate()).not.toThrow();
    const plain = deploymentManifest(SETTINGS).spec?.template.spec;
    expect(plain).not.toHaveProperty('tolerations');
    expect(plain).not.toHaveProperty('nodeSelector');
  });

  it('has no Secret when Prefect needs no credential, and then no secretKeyRef either', () => {
    const manifests = agentManifests({ ...SETTINGS, prefectApiKey: undefined });
    expect(manifests.map((manifest) => manifest.kind)).not.toContain('Secret');
    expect(JSON.stringify(manifests)).not.toContain('secretKeyRef');
  });

  it('rolls the worker when the key changes (a credentials hash in the pod template), not otherwise', () => {
    const hash = (key: string) => deploymentManifest({ ...SETTINGS, prefectApiKey: key }).spec!.template.metadata!.annotations!['bakery.azure/credentials-hash'];
    expect(hash('pnu_a')).not.toBe(hash('pnu_b'));
    expect(hash('pnu_a')).toBe(hash('pnu_a'));
    expect(JSON.stringify(deploymentManifest(SETTINGS))).not.toContain('pnu_manifestTestKey');
  });

  it('grants what the worker and dask-kubernetes use, within the namespace, and nothing on secrets or RBAC', () => {
    const resources = AGENT_RULES.flatMap((rule) => rule.resources ?? []);
    expect(resources).toEqual(expect.arrayContaining(['jobs', 'pods', 'pods/log', 'services', 'events', 'poddisruptionbudgets', 'daskclusters']));
    expect(resources).not.toContain('secrets');
    expect(AGENT_RULES.flatMap((rule) => rule.apiGroups ?? [])).not.toContain('rbac.authorization.k8s.io');
    expect(AGENT_RULES.flatMap((rule) => rule.verbs)).not.toContain('*');
  });

  it('gives each cluster a stable, distinct UUID for PREFECT_KUBERNETES_CLUSTER_UID', () => {
    expect(SETTINGS.clusterUid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(clusterUid('00000000-0000-0000-0000-000000000000', 'RG-Bakery-Dev', 'aks-bakery-dev')).toBe(SETTINGS.clusterUid);
    expect(clusterUid('00000000-0000-0000-0000-000000000000', 'rg-bakery-dev', 'aks-bakery-prod')).not.toBe(SETTINGS.clusterUid);
  });
});

describe('rollout state (kubectl rollout status)', () => {
  const deployment = (generation: number, status: Record<string, unknown>) => ({ ...deploymentManifest(SETTINGS), metadata: { name: 'prefect-worker', generation }, status });

  it('waits for the spec to be observed, then updated, old and available replicas', () => {
    expect(deploymentRolloutState(deployment(2, { observedGeneration: 1 })).message).toBe('Waiting for deployment spec update to be observed...');
    expect(deploymentRolloutState(deployment(2, { observedGeneration: 2, updatedReplicas: 1, replicas: 2 })).message).toContain('1 out of 2 new replicas have been updated');
    expect(deploymentRolloutState(deployment(2, { observedGeneration: 2, updatedReplicas: 2, replicas: 3 })).message).toContain('1 old replicas are pending termination');
    expect(deploymentRolloutState(deployment(2, { observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 1 })).message).toContain('1 of 2 updated replicas are available');
    expect(deploymentRolloutState(deployment(2, { observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }))).toEqual({ done: true, message: 'deployment "prefect-worker" successfully rolled out' });
  });

  it('fails on an exceeded progress deadline', () => {
    const state = deploymentRolloutState(deployment(1, { observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "x" has timed out progressing.' }] }));
    expect(state.failed).toBe('deployment "prefect-worker" exceeded its progress deadline');
  });

  it('gives up on pods that waiting cannot cure, but not on an image pull still being retried', () => {
    const pod = (waiting: { reason: string; message?: string }, restartCount = 0) => ({ apiVersion: 'v1' as const, kind: 'Pod' as const, metadata: { name: 'p' }, status: { containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount, state: { waiting } }] } });
    expect(podProblem(pod({ reason: 'CreateContainerConfigError', message: 'secret "prefect-api-credentials" not found' }))).toMatch(/CreateContainerConfigError \(secret "prefect-api-credentials" not found\)/);
    expect(podProblem(pod({ reason: 'CrashLoopBackOff' }, 3))).toMatch(/keeps crashing \(3 restarts/);
    expect(podProblem(pod({ reason: 'CrashLoopBackOff' }, 1))).toBeUndefined();
    expect(podProblem(pod({ reason: 'ImagePullBackOff' }))).toBeUndefined();
  });
});
