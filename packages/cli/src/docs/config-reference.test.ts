import { describe, expect, it } from 'vitest';
import { configReference } from './config-reference.js';

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
});
