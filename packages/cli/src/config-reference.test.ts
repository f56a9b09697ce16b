import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configReference, withConfigReference } from './config-reference.js';

const readmePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/configuration.md');

describe('configuration reference', () => {
  it('lists every setting of the coordinator and the agent with its env var', () => {
    const ref = configReference();
    for (const s of [
      '--database-url',
      'DROVER_DATABASE_URL',
      '--api-addr',
      'DROVER_API_ADDR',
      '--nats',
      '--label',
      'DROVER_LABELS',
      '--allow-shell',
    ]) {
      expect(ref).toContain(s);
    }
  });

  it('is up to date in docs/configuration.md (run `npm run docs:config` after changing a setting)', () => {
    const readme = readFileSync(readmePath, 'utf8');
    expect(withConfigReference(readme)).toBe(readme);
  });
});
