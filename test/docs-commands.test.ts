// Every shell command in the docs is either run by this test or says why not.
//
// The pages: README.md, docs/*.md and packages/*/README.md. Each fenced shell block (sh, bash,
// shell, console, zsh) carries a mark after its language, and a block without one fails here,
// named by file:line:
//   ```sh tested                      run by this test
//   ```sh not-tested: <reason>        listed, not run; the reason is required ("needs Docker",
//                                     "production setup: starts a long-running coordinator")
// How tested blocks run: per page, every tested block in the page's order, as one bash script
// (`set -Eeuo pipefail`; an error names the block), so a later block sees what an earlier one
// made (files, variables, jobs). The page's shell starts in a fresh temp directory with `drover`
// on PATH (this checkout's packages/cli/bin/drover.js) and DROVER_ADDR pointing at a dev-mode
// Drover that this test starts for the page alone (`drover dev --ephemeral` on its own database,
// in-memory queue and bus, a local agent that runs shell jobs, no auth, the example jobs);
// `127.0.0.1:7400` and `localhost:7400` in a block are replaced by its address. Nothing else of
// the caller's DROVER_* environment reaches the page. A tested block must finish by itself
// (a `--follow` of a run that ends is fine; `drover dev` or `drover coordinator` is not).
//
// The test also checks that every relative link in those pages names a file that exists and,
// for a link into a Markdown page, a heading anchor (GitHub's slug) or `<a id>` it has.
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestEnv, DROVER_BIN, makeStateDir, REPO_ROOT, spawnDrover } from './support/index.js';
import { brokenLink, docPages, fencedBlocks, linksOf, type FencedBlock } from './support/markdown.js';

const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console', 'zsh', 'shell-session']);

type Marked = FencedBlock & { readonly file: string } & (
    | { readonly mark: 'tested' }
    | { readonly mark: 'not-tested'; readonly reason: string }
    | { readonly mark: 'invalid'; readonly problem: string }
  );

/** A shell block's mark, read from its info string. */
function classify(file: string, block: FencedBlock): Marked {
  const at = { ...block, file };
  if (block.info === 'tested') return { ...at, mark: 'tested' };
  const notTested = /^not-tested:(.*)$/.exec(block.info);
  if (notTested) {
    const reason = notTested[1]!.trim();
    return reason === ''
      ? { ...at, mark: 'invalid', problem: 'not-tested needs a reason after the colon' }
      : { ...at, mark: 'not-tested', reason };
  }
  const problem =
    block.info === ''
      ? `unmarked: write \`\`\`${block.lang} tested or \`\`\`${block.lang} not-tested: <reason>`
      : `unknown mark "${block.info}"`;
  return { ...at, mark: 'invalid', problem };
}

const pages = docPages(REPO_ROOT).map((file) => ({ file, text: readFileSync(path.join(REPO_ROOT, file), 'utf8') }));
const shellBlocks = pages.flatMap(({ file, text }) =>
  fencedBlocks(text)
    .filter((b) => SHELL_LANGS.has(b.lang))
    .map((b) => classify(file, b)),
);

describe('shell blocks in the docs', () => {
  it('are each marked tested or not-tested with a reason', () => {
    const invalid = shellBlocks.flatMap((b) => (b.mark === 'invalid' ? [`${b.file}:${b.line}: ${b.problem}`] : []));
    expect(invalid).toEqual([]);
    const notTested = shellBlocks.flatMap((b) => (b.mark === 'not-tested' ? [`  ${b.file}:${b.line}  ${b.reason}`] : []));
    console.log(`shell blocks not tested (${notTested.length}):\n${notTested.join('\n')}`);
  });

  it('are read from the README, the docs pages and the package READMEs', () => {
    expect(pages.map((p) => p.file)).toContain('README.md');
    expect(pages.some((p) => p.file.startsWith('docs/'))).toBe(true);
    expect(pages.some((p) => /^packages\/\w+\/README\.md$/.test(p.file))).toBe(true);
    expect(shellBlocks.some((b) => b.mark === 'tested')).toBe(true);
  });
});

describe('relative links in the docs', () => {
  it('resolve to files that exist, and to headings those pages have', () => {
    const broken = pages.flatMap(({ file, text }) =>
      linksOf(text).flatMap(({ line, target }) => {
        const why = brokenLink(REPO_ROOT, file, target);
        return why === undefined ? [] : [`${file}:${line}: ${why}`];
      }),
    );
    expect(broken).toEqual([]);
  });
});

const testedPages = pages
  .map(({ file }) => ({ file, blocks: shellBlocks.filter((b) => b.file === file && b.mark === 'tested') }))
  .filter((p) => p.blocks.length > 0);

describe.each(testedPages)('$file', ({ file, blocks }) => {
  it(`runs its ${blocks.length} tested shell block(s) in order`, async () => {
    const env = await createTestEnv();
    try {
      const dev = spawnDrover(env, ['dev', '--ephemeral', '--api-addr', '127.0.0.1:0', '--database', env.databaseUrl], { name: 'dev' });
      const apiLine = await dev.waitForLine((l) => /^\s+API\s+http:\/\//.test(l.text), 120_000);
      const addr = /(http:\/\/\S+)/.exec(apiLine.text)![1]!;
      const cwd = makeStateDir(env, 'page');
      const bin = makeStateDir(env, 'bin');
      writeFileSync(path.join(bin, 'drover'), `#!/bin/sh\nexec '${process.execPath}' '${DROVER_BIN}' "$@"\n`);
      chmodSync(path.join(bin, 'drover'), 0o755);
      const here = (text: string) => text.replace(/\b(127\.0\.0\.1|localhost):7400\b/g, addr.replace(/^http:\/\//, ''));
      const script = [
        'set -Eeuo pipefail',
        `trap 'echo "docs-commands: the block at $__block failed" >&2' ERR`,
        ...blocks.flatMap((b) => [`__block='${file}:${b.line}'`, here(b.text)]),
      ].join('\n');
      const shellEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DROVER_')));
      Object.assign(shellEnv, {
        PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        DROVER_ADDR: addr,
        DROVER_EXIT_WITH_PARENT: '1',
      });
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        let output = '';
        const child = execFile('bash', ['-c', script], { cwd, env: shellEnv, timeout: 120_000, maxBuffer: 16 << 20 }, (err) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, output }),
        );
        child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      });
      expect(result.code, `${file}'s tested blocks, run in ${cwd}:\n${result.output}\n--- dev mode:\n${dev.tail(30)}`).toBe(0);
    } finally {
      await env.cleanup();
    }
  }, 300_000);
});
