// Builds the dashboard ahead of time: type-checks src/ (strict, DOM, Preact JSX), then bundles
// it with esbuild into public/app.js beside the hand-written index.html and style.css. The
// coordinator only serves public/; nothing is compiled at run time.
// A build whose bundle is newer than every input does nothing, so `npm run dev` starts from
// what is built (the type check alone takes seconds).
//   node build.mjs [--watch] [--force]
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const force = process.argv.includes('--force');

/** The newest modification time under these files and directories (0 for what does not exist). */
function newestMtime(paths) {
  let newest = 0;
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) newest = Math.max(newest, newestMtime(readdirSync(p).map((name) => path.join(p, name))));
  }
  return newest;
}

// What the bundle is made of: its sources and build settings, the client code it bundles, and
// the locked versions of esbuild and Preact.
const inputs = ['src', 'build.mjs', 'tsconfig.json', 'package.json', '../client/dist', '../../package-lock.json'].map((p) =>
  path.join(here, p),
);
const bundle = path.join(here, 'public/app.js');
if (!watch && !force && newestMtime([bundle]) > newestMtime(inputs)) process.exit(0);

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
