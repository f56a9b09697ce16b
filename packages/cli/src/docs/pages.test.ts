// The generated reference pages are what their generators render from this tree: a setting,
// a command or an API change without `npm run docs` fails here, naming the script to run.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '@drover/coordinator';
import { droverProgram } from '../program.js';
import { GENERATED_PAGES, REPO_ROOT } from './pages.js';
import { withSection } from './markdown.js';

const rendered = new Map<string, string>();
beforeAll(async () => {
  for (const page of GENERATED_PAGES) rendered.set(page.name, await page.render());
}, 60_000);

describe.each(GENERATED_PAGES)('$file', ({ name, file }) => {
  it(`is up to date (run npm run docs:${name} after a change)`, () => {
    const committed = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const expected = withSection(committed, name, rendered.get(name)!);
    if (committed !== expected) {
      const a = committed.split('\n');
      const b = expected.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `${file} is out of date: run npm run docs:${name}\n(first difference at line ${line + 1}: committed ${JSON.stringify(a[line])}, generated ${JSON.stringify(b[line])})`,
      );
    }
  });
});

describe('the CLI reference', () => {
  it('has every command of the tree, with its arguments and options', async () => {
    const cli = rendered.get('cli')!;
    const program = await droverProgram({ processCommands: true });
    const names: string[] = [];
    const walk = (cmd: typeof program, prefix: string) =>
      cmd.commands.forEach((c) => {
        names.push(`${prefix} ${c.name()}`);
        walk(c, `${prefix} ${c.name()}`);
      });
    walk(program, 'drover');
    expect(names.length).toBeGreaterThan(30);
    for (const n of names) expect(cli).toContain(`## \`${n}\``);
    const run = cli.slice(cli.indexOf('## `drover jobs run`'), cli.indexOf('## `drover runs`'));
    expect(run).toContain('| `job` |');
    expect(run).toContain('`-f, --follow`');
    expect(cli).toContain('`--database-url <url>`');
  });
});

describe('the API reference', () => {
  it('has every operation of the OpenAPI document with its method, path and access level', async () => {
    const api = rendered.get('api')!;
    const doc = (await openApiDocument()) as unknown as {
      paths: Record<string, Record<string, { operationId: string; 'x-drover-access'?: string }>>;
    };
    const ops = Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item).map(([m, op]) => ({ p, m, op })));
    expect(ops.length).toBeGreaterThan(30);
    for (const { p, m, op } of ops) {
      const section = api.slice(api.indexOf(`### ${op.operationId}\n`));
      expect(section).toMatch(
        new RegExp(
          `^### ${op.operationId}\\n[^#]*\`${m.toUpperCase()} ${p.replace(/[{}]/g, '\\$&')}\` · access \`${op['x-drover-access']}\``,
        ),
      );
    }
    expect(api).toContain('(api-errors.md)');
    expect(api).toContain('### 404 NotFound');
  });
});
