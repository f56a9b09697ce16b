import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { API_ERROR_CODES, API_ERROR_STATUS } from '@drover/shared';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** Every .ts file under `dir`, tests aside. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

describe('API error codes', () => {
  it('are documented in docs/api-errors.md, each with its status, and nothing else is', () => {
    const doc = readFileSync(join(repo, 'docs/api-errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(API_ERROR_STATUS));
  });

  it('used by the coordinator are all in the list, and every listed code is used', () => {
    const all = sources(join(repo, 'packages/coordinator/src')).map((f) => readFileSync(f, 'utf8'));
    const api = sources(join(repo, 'packages/coordinator/src/api')).map((f) => readFileSync(f, 'utf8'));
    const text = all.join('\n');
    // DomainError('CODE', …) or HttpProblem('CODE', …) anywhere; in the API also
    // sendProblem(reply, status, 'CODE', …), a problem subclass's super('CODE', …) and { code: 'CODE' }.
    const used = new Set([
      ...[...text.matchAll(/(?:DomainError|HttpProblem)\('([A-Z][A-Z_]+)'/g)].map((m) => m[1]!),
      ...[...api.join('\n').matchAll(/(?:sendProblem\([^,]+, [^,]+, |super\(|code: )'([A-Z][A-Z_]+)'/g)].map((m) => m[1]!),
    ]);
    const fromStatus = ['BAD_REQUEST', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE', 'URI_TOO_LONG', 'UNSUPPORTED_MEDIA_TYPE'];
    expect([...used].filter((c) => !(API_ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
    expect(API_ERROR_CODES.filter((c) => !used.has(c) && !fromStatus.includes(c) && !text.includes(`'${c}'`))).toEqual([]);
  });
});
