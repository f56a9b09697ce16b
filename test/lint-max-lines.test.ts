// The 400-line limit of eslint.config.js bites: a source file one line over it fails lint,
// one at it passes, and generated code and files outside packages/*/src are exempt. The rule
// is checked through ESLint's own API with the repository's config, so a typo in its `files`
// globs (which would silently lint nothing) turns this red.
import { ESLint } from 'eslint';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './support/index.js';

/** `n` lines of valid TypeScript, as `wc -l` counts them. */
const linesOfCode = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i};\n`).join('');

const eslint = new ESLint({ cwd: REPO_ROOT });

it.each<[string, string, number, boolean]>([
  ['a source file at the limit', 'packages/shared/src/at-limit.ts', 400, false],
  ['a source file one line over', 'packages/coordinator/src/store/over-limit.ts', 401, true],
  ['a test file in src one line over', 'packages/agent/src/over-limit.test.ts', 401, true],
  ['a dashboard component one line over', 'packages/dashboard/src/components/OverLimit.tsx', 401, true],
  ['the generated client schema', 'packages/client/src/schema.ts', 401, false],
  ['an integration test outside packages/*/src', 'test/over-limit.test.ts', 401, false],
])('%s (%s, %i lines) fails max-lines: %s', async (_case, filePath, lines, fails) => {
  const [result] = await eslint.lintText(linesOfCode(lines), { filePath: `${REPO_ROOT}/${filePath}` });
  const ruleIds = (result?.messages ?? []).map((m) => m.ruleId);
  expect(ruleIds.includes('max-lines')).toBe(fails);
});
