#!/usr/bin/env node
// Builds one installable tarball of the `drover` command: `npm install -g drover-cli-<version>.tgz`
// gives a working `drover` (coordinator, agent, dev mode, migrate) on any host with Node 22.
// Everything it needs is bundled inside — the workspace packages (not published separately)
// and their third-party dependencies — so installing it needs no registry (air-gapped hosts).
//   node scripts/pack.mjs [output-dir]      (default: ./dist-pack)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist-pack'));
const npm = (args, cwd = root) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const step = (what) => process.stderr.write(`pack: ${what}\n`);
step('building');
npm(['run', 'build', '--silent']);

const stage = mkdtempSync(path.join(tmpdir(), 'drover-pack-'));
try {
  const cli = readJson(path.join(root, 'packages/cli/package.json'));
  // The dashboard ships as the static files the coordinator serves (built above, not at run time).
  const bundled = ['shared', 'client', 'dashboard', 'agent', 'coordinator'];
  const deps = { ...cli.dependencies };
  for (const name of bundled) {
    step(`bundling @drover/${name}`);
    const tarball = npm(['pack', '-w', `@drover/${name}`, '--pack-destination', stage, '--silent'])
      .trim()
      .split('\n')
      .pop();
    const dir = path.join(stage, 'node_modules/@drover', name);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(stage, tarball), '-C', dir, '--strip-components=1']);
    rmSync(path.join(stage, tarball));
    for (const [dep, range] of Object.entries(readJson(path.join(dir, 'package.json')).dependencies ?? {})) {
      if (!dep.startsWith('@drover/')) deps[dep] ??= range;
    }
  }
  // The coordinator applies migrations from its own copy when installed.
  const coordinatorDir = path.join(stage, 'node_modules/@drover/coordinator');
  cpSync(path.join(root, 'migrations'), path.join(coordinatorDir, 'migrations'), { recursive: true });
  const coordinator = readJson(path.join(coordinatorDir, 'package.json'));
  writeFileSync(
    path.join(coordinatorDir, 'package.json'),
    JSON.stringify({ ...coordinator, files: [...coordinator.files, 'migrations'] }, null, 2),
  );
  cpSync(path.join(root, 'packages/cli/bin'), path.join(stage, 'bin'), { recursive: true });
  // The agent's systemd unit and environment file travel with the command that runs them.
  cpSync(path.join(root, 'deploy'), path.join(stage, 'deploy'), { recursive: true });
  cpSync(path.join(root, 'packages/cli/dist'), path.join(stage, 'dist'), { recursive: true });
  // Third-party dependencies first (npm would remove the workspace packages as extraneous),
  // then the workspace packages go in and everything is declared bundled.
  // Pinned to the versions the repository's lockfile installed, the ones the tests ran with.
  const installed = (dep) => readJson(path.join(root, 'node_modules', dep, 'package.json')).version;
  const thirdParty = Object.fromEntries(
    Object.keys(deps)
      .filter((d) => !d.startsWith('@drover/'))
      .map((d) => [d, installed(d)]),
  );
  const manifest = { ...cli, dependencies: thirdParty, files: ['bin', 'dist', 'deploy'] };
  writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  const held = mkdtempSync(path.join(tmpdir(), 'drover-pack-held-'));
  cpSync(path.join(stage, 'node_modules/@drover'), held, { recursive: true });
  rmSync(path.join(stage, 'node_modules'), { recursive: true, force: true });
  step('installing third-party dependencies into the bundle');
  npm(['install', '--omit=dev', '--no-package-lock', '--no-audit', '--no-fund', '--silent'], stage);
  cpSync(held, path.join(stage, 'node_modules/@drover'), { recursive: true });
  rmSync(held, { recursive: true, force: true });
  writeFileSync(
    path.join(stage, 'package.json'),
    JSON.stringify({ ...manifest, dependencies: { ...deps, ...thirdParty }, bundleDependencies: Object.keys(deps) }, null, 2),
  );
  mkdirSync(out, { recursive: true });
  step('packing');
  const file = npm(['pack', '--pack-destination', out, '--silent'], stage).trim().split('\n').pop();
  process.stdout.write(`${path.join(out, file)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
