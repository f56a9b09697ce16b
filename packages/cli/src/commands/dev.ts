// `drover dev`: a coordinator and a local agent in one process, for trying Drover on one
// machine. They talk over Moleculer's in-process transport unless --nats names a server (so
// other agents can join); state is in the PostgreSQL and Redis named by the usual settings
// (the database is created and migrated if needed). The agent may run shell scripts, since
// the machine is the user's own.
import path from 'node:path';
import type { Command } from 'commander';
import { compileCoordinatorOptions, startCoordinator } from '@drover/coordinator';
import { compileAgentOptions, startAgent } from '@drover/agent';
import { createLogger } from '../logger.js';
import { fail } from './common.js';

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run a coordinator and a local agent in one process (state in the PostgreSQL and Redis of the usual settings)')
    .option('--api-addr <host:port>', 'where the REST API listens', '127.0.0.1:7400')
    .option('--nats <url>', 'a NATS server to use instead of the in-process transport, so remote agents can join', 'memory')
    .option('--slots <n>', 'how many runs the local agent runs at once')
    .option('--state-dir <dir>', "the local agent's state", '.drover/agent')
    .option('--log-level <level>', 'debug, info, warn or error', 'warn')
    .action(async (flags: { apiAddr: string; nats: string; slots?: string; stateDir: string; logLevel: string }) => {
      try {
        const coordinatorOptions = compileCoordinatorOptions({
          flags: { 'api-addr': flags.apiAddr, nats: flags.nats, 'auto-migrate': 'true', 'log-level': flags.logLevel },
          env: process.env,
        });
        const agentOptions = compileAgentOptions({
          flags: {
            nats: coordinatorOptions.natsUrl,
            namespace: coordinatorOptions.namespace,
            'allow-shell': true,
            'state-dir': path.resolve(flags.stateDir),
            name: 'local',
            'log-level': flags.logLevel,
            ...(flags.slots ? { slots: flags.slots } : {}),
          },
          env: {},
        });
        process.stdout.write('starting Drover (coordinator and a local agent)…\n');
        const coordinator = await startCoordinator(coordinatorOptions, createLogger('coordinator', flags.logLevel));
        const agent = await startAgent(agentOptions, createLogger('agent', flags.logLevel));
        await agent.registered;
        const api = coordinator.url;
        process.stdout.write(
          [
            '',
            `Drover is running.`,
            `  API       ${api}   (OpenAPI document: ${api}/openapi.json)`,
            `  agent     ${agent.agentId} (local, shell allowed)`,
            `  bus       ${coordinatorOptions.natsUrl === 'memory' ? 'in-process (start with --nats nats://… to let other agents join)' : `${coordinatorOptions.natsUrl}, namespace ${coordinatorOptions.namespace}`}`,
            `  database  ${coordinatorOptions.databaseUrl.replace(/\/\/[^@]*@/, '//')}`,
            '',
            'Try it:',
            `  curl -s -X POST ${api}/v1/jobs -H 'content-type: application/json' \\`,
            `       -d '{"name":"hello","executor":{"type":"shell","script":"echo hello from $(hostname)"}}'`,
            `  curl -s -X POST ${api}/v1/jobs/hello/runs`,
            `  curl -s "${api}/v1/runs?job=hello"`,
            '',
            'Ctrl-C stops it.',
            '',
          ].join('\n'),
        );
        let stopping = false;
        const stop = async () => {
          if (stopping) process.exit(130);
          stopping = true;
          process.stdout.write('stopping…\n');
          await agent.stop({ graceMs: 5000 });
          await coordinator.stop();
          process.exit(0);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
      } catch (err) {
        fail(err);
      }
    });
}
