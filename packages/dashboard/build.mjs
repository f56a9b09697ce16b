// Builds the dashboard ahead of time: type-checks src/ (strict, DOM, Preact JSX), then bundles
// it with esbuild into public/app.js beside the hand-written index.html and style.css. The
// coordinator only serves public/; nothing is compiled at run time.
//   node build.mjs [--watch]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');

// esbuild strips types without checking them: tsc is the check.
const tsc = require.resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '--noEmit', '-p', path.join(here, 'tsconfig.json')], { stdio: 'inherit', cwd: here });
} catch {
  process.stderr.write('dashboard: type errors above; nothing bundled\n');
  process.exit(1);
}

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: here,
  entryPoints: ['src/main.tsx'],
  outfile: 'public/app.js',
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  // Preact's licence comment goes to public/app.js.LEGAL.txt, served beside the bundle.
  legalComments: 'linked',
  logLevel: 'warning',
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  process.stderr.write('dashboard: watching src/ (type errors are not checked while watching)\n');
} else {
  // Quiet on success, like tsc -b.
  await esbuild.build(options);
}
