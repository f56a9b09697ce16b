// Prometheus' own linter over an exposition: `promtool check metrics` reads the text on stdin
// and prints one line per complaint (names, types, help, units). Debian's `prometheus`
// package ships it; .ci/run installs it when missing.
import { spawnSync } from 'node:child_process';

const PROMTOOL = process.env.DROVER_TEST_PROMTOOL ?? 'promtool';

/** promtool's complaints about an exposition, one per line; empty when it lints clean. */
export function promtoolComplaints(exposition: string): string[] {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `this test needs promtool: apt-get install -y --no-install-recommends prometheus (Debian), or set DROVER_TEST_PROMTOOL to a promtool binary (${run.error.message})`,
    );
  }
  const complaints = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (run.status !== 0 && complaints.length === 0) complaints.push(`promtool exited ${run.status} without saying why`);
  return complaints;
}
