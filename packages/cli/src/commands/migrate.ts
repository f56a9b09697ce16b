// `drover migrate up|down|status`: the database schema.
import type { Command } from 'commander';
import { compileOptions } from '@drover/shared';
import {
  coordinatorSettings,
  describeDatabaseUrl,
  ensureDatabaseExists,
  migrateDown,
  migrateToLatest,
  migrationStatus,
} from '@drover/coordinator';
import { addSettingFlags, fail } from './common.js';

const settings = { databaseUrl: coordinatorSettings.databaseUrl };

function databaseUrl(flags: Record<string, unknown>): string {
  return compileOptions(settings, { flags: flags as Record<string, string>, env: process.env }).databaseUrl;
}

export function registerMigrateCommand(program: Command): void {
  const migrate = program.command('migrate').description('apply, revert or list database migrations');
  addSettingFlags(migrate.command('up').description('apply every pending migration'), settings).action(async (flags) => {
    try {
      const url = databaseUrl(flags);
      if (await ensureDatabaseExists(url)) process.stdout.write(`created database ${describeDatabaseUrl(url)}\n`);
      const r = await migrateToLatest(url);
      const applied = (r.results ?? []).filter((m) => m.status === 'Success').map((m) => m.migrationName);
      process.stdout.write(
        applied.length > 0
          ? `applied ${applied.join(', ')} to ${describeDatabaseUrl(url)}\n`
          : `${describeDatabaseUrl(url)} is up to date\n`,
      );
    } catch (err) {
      fail(err);
    }
  });
  addSettingFlags(migrate.command('down').description('revert the most recent migration'), settings).action(async (flags) => {
    try {
      const url = databaseUrl(flags);
      const r = await migrateDown(url);
      const reverted = (r.results ?? []).filter((m) => m.status === 'Success').map((m) => m.migrationName);
      process.stdout.write(
        reverted.length > 0 ? `reverted ${reverted.join(', ')} on ${describeDatabaseUrl(url)}\n` : 'nothing to revert\n',
      );
    } catch (err) {
      fail(err);
    }
  });
  addSettingFlags(migrate.command('status').description('list migrations and whether each is applied'), settings).action(async (flags) => {
    try {
      const list = await migrationStatus(databaseUrl(flags));
      for (const m of list)
        process.stdout.write(
          `${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ''}\n`,
        );
      const pending = list.filter((m) => !m.executedAt).length;
      process.stdout.write(pending > 0 ? `${pending} pending: run "drover migrate up"\n` : 'up to date\n');
    } catch (err) {
      fail(err);
    }
  });
}
