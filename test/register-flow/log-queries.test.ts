import { describe, expect, it } from 'vitest';
import { flowRunLogQueries, jobNameOf, kqlString, logAnalyticsLocation } from '../../src/register-flow/log-queries.js';

const run = {
  id: '5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
  name: 'amber-otter',
  created: '2025-03-01T06:00:00.000Z',
  start_time: '2025-03-01T06:01:00.000Z',
  end_time: '2025-03-01T06:09:00.000Z',
  infrastructure_pid: null,
};

describe('flowRunLogQueries', () => {
  it('bounds both queries by the run\'s time window and names cluster, namespace, run and flow', () => {
    const { flowRunPod, daskPods } = flowRunLogQueries({ clusterName: 'bakery-dev-aks', namespace: 'bakery', flowName: 'noaa-oisst', run });
    for (const query of [flowRunPod, daskPods]) {
      expect(query).toContain('between (datetime(2025-03-01T05:51:00.000Z) .. datetime(2025-03-01T06:39:00.000Z))');
      expect(query).toContain('ClusterName == "bakery-dev-aks" and Namespace == "bakery"');
      expect(query.split('\n')[0]).toMatch(/^\/\/ .*[Ff]low run amber-otter \(5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d\) of flow noaa-oisst/);
      expect(query).toContain('| project TimeGenerated, PodName, ContainerName, LogLevel, LogMessage');
    }
    expect(flowRunPod).toContain('ControllerKind == "Job" and ControllerName startswith "amber-otter-"');
    expect(daskPods).toContain('PodLabel contains "amber-otter"');
  });

  it('uses the exact Job name when the worker recorded it as infrastructure_pid', () => {
    expect(jobNameOf('1f2e3d4c-aaaa:bakery:amber-otter-x7k2p')).toBe('amber-otter-x7k2p');
    expect(jobNameOf('not-a-pid')).toBeUndefined();
    const { flowRunPod } = flowRunLogQueries({ namespace: 'bakery', flowName: 'noaa-oisst', run: { ...run, infrastructure_pid: '1f2e3d4c-aaaa:bakery:amber-otter-x7k2p' } });
    expect(flowRunPod).toContain('ControllerName == "amber-otter-x7k2p"');
    // Without a cluster name the query spans every cluster of the workspace.
    expect(flowRunPod).not.toContain('ClusterName');
  });

  it('ends the window at "now" for a run that has not ended, and quotes names safely', () => {
    const { flowRunPod } = flowRunLogQueries({ namespace: 'bakery', flowName: 'x', run: { ...run, end_time: null }, now: new Date('2025-03-01T07:00:00Z') });
    expect(flowRunPod).toContain('.. datetime(2025-03-01T07:30:00.000Z)');
    expect(kqlString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('links the portal for a workspace resource id, and gives a CLI line for a GUID', () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/logs';
    expect(logAnalyticsLocation(id)).toEqual({ portalUrl: `https://portal.azure.com/#resource${id}/logs` });
    expect(logAnalyticsLocation('6c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f').cliHint).toContain('az monitor log-analytics query --workspace 6c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f');
    expect(logAnalyticsLocation(undefined)).toEqual({});
  });

  it('links the portal of the cloud the action signs in to', () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/logs';
    expect(logAnalyticsLocation(id, 'https://management.usgovcloudapi.net').portalUrl).toBe(`https://portal.azure.us/#resource${id}/logs`);
    expect(logAnalyticsLocation(id, 'https://management.chinacloudapi.cn').portalUrl).toBe(`https://portal.azure.cn/#resource${id}/logs`);
  });
});
