// `node scripts/chaos-table.mjs <results>`, as docs/chaos.md shows it: one row per scenario, the last
// line of a scenario winning in its first place, recovery in seconds (unit project: no servers).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../support/database.js';

it('turns the results file into the table of docs/chaos.md', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'drover-chaos-table-')), 'results.jsonl');
  const line = (scenario: string, runs: number, recoveryMs: number | null) =>
    JSON.stringify({ scenario, runs, executions: runs + 1, duplicates: 0, lost: 0, recoveryMs });
  writeFileSync(
    file,
    [line('agent kill -9', 40, 17_250), line('Redis FLUSHALL', 30, null), 'not json', line('agent kill -9', 41, 16_040), ''].join('\n'),
  );
  const table = execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/chaos-table.mjs'), file], { encoding: 'utf8', stdio: 'pipe' });
  expect(table).toBe(
    [
      '| scenario | runs | executions | duplicates | lost | recovery time |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      '| agent kill -9 | 41 | 42 | 0 | 0 | 16.0 s |',
      '| Redis FLUSHALL | 30 | 31 | 0 | 0 | — |',
      '',
    ].join('\n'),
  );
});

it('says what to run when there are no results yet', () => {
  let err: { status?: number; stderr?: string } = {};
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts/chaos-table.mjs'), join(tmpdir(), 'drover-no-such-results.jsonl')], {
      stdio: 'pipe',
      encoding: 'utf8',
    });
  } catch (e) {
    err = e as typeof err;
  }
  expect(err.status).toBe(1);
  expect(err.stderr).toMatch(/run `npm run test:chaos` first/);
});
