// The committed client types must match the API this tree serves: a route or schema change
// without `npm run gen:client` fails here, before a user meets a client that lies.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, currentDocument, renderSchema } from '../../../scripts/gen-client.mjs';

describe('generated client schema', () => {
  it('matches the coordinator OpenAPI document', async () => {
    const expected = await renderSchema(await currentDocument());
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    // A plain equality, not toEqual: a 3,000-line diff would bury the one line that matters.
    if (committed !== expected) {
      const a = committed.split('\n');
      const b = expected.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `the client is out of date with the API: run npm run gen:client\n` +
          `(first difference at schema.ts line ${line + 1}: committed ${JSON.stringify(a[line])}, API ${JSON.stringify(b[line])})`,
      );
    }
  });

  it('knows the routes the CLI relies on', async () => {
    const doc = (await currentDocument()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/runs', '/v1/runs/{id}/logs', '/v1/agents/{id}/drain', '/v1/fleet'])
      expect(Object.keys(doc.paths)).toContain(p);
  });
});
