// The generated reference pages: which file, which section, how it is rendered. `npm run docs`
// (this module run as a script, after the build) rewrites them; pages.test.ts fails when a
// committed page differs from what its generator renders now.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openApiDocument } from '@drover/coordinator';
import { droverProgram } from '../program.js';
import { apiReference, type ApiDocument } from './api-reference.js';
import { cliReference } from './cli-reference.js';
import { configReference } from './config-reference.js';
import { updateSection } from './markdown.js';

export interface GeneratedPage {
  /** The section's marker name and the suffix of its npm script (`npm run docs:cli`). */
  readonly name: string;
  /** The page, relative to the repository root. */
  readonly file: string;
  readonly render: () => Promise<string>;
}

export const GENERATED_PAGES: readonly GeneratedPage[] = [
  { name: 'config', file: 'docs/configuration.md', render: async () => configReference() },
  { name: 'cli', file: 'docs/cli.md', render: async () => cliReference(await droverProgram({ processCommands: true })) },
  { name: 'api', file: 'docs/api.md', render: async () => apiReference((await openApiDocument()) as unknown as ApiDocument) },
];

/** The repository root, from src/docs or dist/docs of packages/cli. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Rewrites the named pages (all when none is named), printing what changed. */
export async function updatePages(names: readonly string[]): Promise<void> {
  const unknown = names.filter((n) => !GENERATED_PAGES.some((p) => p.name === n));
  if (unknown.length > 0)
    throw new Error(`no generated page named ${unknown.join(', ')} (known: ${GENERATED_PAGES.map((p) => p.name).join(', ')})`);
  for (const page of GENERATED_PAGES.filter((p) => names.length === 0 || names.includes(p.name))) {
    const changed = updateSection(path.join(REPO_ROOT, page.file), page.name, await page.render());
    process.stdout.write(changed ? `updated ${page.file}\n` : `${page.file} is up to date\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await updatePages(process.argv.slice(2));
}
