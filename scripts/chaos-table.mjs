#!/usr/bin/env node
// Turns the chaos suite's results (one JSON line per scenario, see test/chaos/report.ts) into the
// Markdown table of docs/chaos.md, "The figures". The last line of each scenario wins, so
// a rerun of one scenario updates its row; rows keep the order scenarios first appeared in.
//   node scripts/chaos-table.mjs [results.jsonl]   (default: test-artifacts/chaos-results.jsonl)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.resolve(process.argv[2] ?? process.env.DROVER_CHAOS_RESULTS ?? path.join(root, 'test-artifacts', 'chaos-results.jsonl'));
if (!existsSync(file)) {
  process.stderr.write(`chaos-table: no results at ${file}; run \`npm run test:chaos\` first (or name the file)\n`);
  process.exit(1);
}

const rows = new Map();
for (const [i, text] of readFileSync(file, 'utf8').split('\n').entries()) {
  if (!text.trim()) continue;
  let line;
  try {
    line = JSON.parse(text);
  } catch {
    process.stderr.write(`chaos-table: ${file}:${i + 1} is not JSON; skipped\n`);
    continue;
  }
  if (typeof line.scenario !== 'string') continue;
  rows.set(line.scenario, line);
}

const seconds = (ms) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '—');
const out = [
  '| scenario | runs | executions | duplicates | lost | recovery time |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...[...rows.values()].map(
    (r) => `| ${r.scenario} | ${r.runs} | ${r.executions} | ${r.duplicates} | ${r.lost} | ${seconds(r.recoveryMs)} |`,
  ),
];
process.stdout.write(`${out.join('\n')}\n`);
