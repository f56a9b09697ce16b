import { homedir } from 'node:os';
import { join } from 'node:path';
import { settingsReference } from '@drover/shared';
import { describe, expect, it } from 'vitest';
import { agentSettings, compileAgentOptions } from './options.js';

describe('agent options', () => {
  it('has defaults that need no configuration, leaving host-sized ones to start-up', () => {
    const o = compileAgentOptions({ flags: {}, env: {} });
    expect(o).toMatchObject({
      nats: 'nats://127.0.0.1:4222',
      cluster: 'drover',
      labels: {},
      allowShell: false,
      // Least privilege outside dev mode: exec and noop only.
      allowHttp: false,
      stateDir: join(homedir(), '.drover/agent'),
      heartbeatInterval: 2_000,
      logLevel: 'info',
    });
    expect(o.slots).toBeUndefined();
    expect(o.cpu).toBeUndefined();
    expect(o.memory).toBeUndefined();
    expect(o.name).toBeUndefined();
    expect(o.metricsAddr).toBeUndefined(); // no metrics port unless asked for
  });

  it('reads --run-as user[:group] and --work-root, refusing malformed ones by name', () => {
    expect(compileAgentOptions({ flags: { 'run-as': 'drover:jobs', 'work-root': '/var/lib/drover/work/' }, env: {} })).toMatchObject({
      runAs: { user: 'drover', group: 'jobs' },
      workRoot: '/var/lib/drover/work',
    });
    expect(compileAgentOptions({ flags: {}, env: { DROVER_RUN_AS: 'nobody' } }).runAs).toEqual({ user: 'nobody' });
    expect(() => compileAgentOptions({ flags: { 'run-as': 'a b' }, env: {} })).toThrow(/--run-as \(DROVER_RUN_AS\).*user:group/);
    expect(() => compileAgentOptions({ flags: { 'run-as': 'x:' }, env: {} })).toThrow(/--run-as/);
  });

  it('reads the metrics address from the flag or DROVER_METRICS_ADDR, and refuses one without a port', () => {
    expect(compileAgentOptions({ flags: {}, env: { DROVER_METRICS_ADDR: '0.0.0.0:9464' } }).metricsAddr).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(
      compileAgentOptions({ flags: { 'metrics-addr': '127.0.0.1:0' }, env: { DROVER_METRICS_ADDR: '0.0.0.0:9464' } }).metricsAddr,
    ).toEqual({
      host: '127.0.0.1',
      port: 0,
    });
    expect(() => compileAgentOptions({ flags: { 'metrics-addr': 'localhost' }, env: {} })).toThrow(
      /--metrics-addr \(DROVER_METRICS_ADDR\).*host:port/,
    );
  });

  it('reads env, and flags win over env', () => {
    const env = {
      DROVER_LABELS: 'region=eu, pool=gpu',
      DROVER_SLOTS: '8',
      DROVER_MEMORY: '4GiB',
      DROVER_ALLOW_SHELL: 'yes',
      DROVER_NATS_URL: 'memory',
      DROVER_CPU: '1.5',
    };
    expect(compileAgentOptions({ flags: {}, env })).toMatchObject({
      labels: { region: 'eu', pool: 'gpu' },
      slots: 8,
      memory: 4 * 2 ** 30,
      allowShell: true,
      nats: 'memory',
      cpu: 1.5,
    });
    expect(compileAgentOptions({ flags: { label: ['zone=a', 'tier=b'], slots: '2', 'allow-http': 'false' }, env })).toMatchObject({
      labels: { zone: 'a', tier: 'b' },
      slots: 2,
      allowHttp: false,
    });
  });

  it('names the setting of a bad value', () => {
    expect(() => compileAgentOptions({ flags: { slots: '0' }, env: {} })).toThrow(/--slots \(DROVER_SLOTS\).*"0" must be a whole number/);
    expect(() => compileAgentOptions({ flags: {}, env: { DROVER_NATS_URL: 'http://x' } })).toThrow(
      /DROVER_NATS_URL.*must start with nats:\/\//,
    );
    expect(() => compileAgentOptions({ flags: { label: ['oops'] }, env: {} })).toThrow(/--label \(DROVER_LABELS\).*key=value/);
    expect(() => compileAgentOptions({ flags: { 'heartbeat-interval': 'soon' }, env: {} })).toThrow(/--heartbeat-interval/);
    expect(() => compileAgentOptions({ flags: { memory: '0' }, env: {} })).toThrow(/--memory.*greater than zero/);
  });

  it('documents every setting for the README reference', () => {
    const table = settingsReference(agentSettings);
    for (const flag of [
      'nats',
      'cluster',
      'label',
      'slots',
      'cpu',
      'memory',
      'allow-shell',
      'allow-http',
      'name',
      'state-dir',
      'heartbeat-interval',
      'metrics-addr',
      'log-level',
    ])
      expect(table).toContain(`\`--${flag}\``);
  });
});
