'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BUILT = path.join(ROOT, 'dist', 'src', 'cli.js');
const SOURCES = ['src', 'migrations', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestChange(entry) {
  const stats = statSync(entry, { throwIfNoEntry: false });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.mtimeMs;
  return readdirSync(entry).reduce((newest, name) => Math.max(newest, newestChange(path.join(entry, name))), 0);
}

function typescriptCompiler() {
  try {
    return require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  } catch {
    return null;
  }
}

/**
 * Compiles with tsc when dist/ is missing or older than any source, so `npm start` after a
 * `git pull` runs the new code and every other start skips the compiler. Without TypeScript
 * (a production install without dev dependencies) an existing build is used as it is.
 */
function ensureBuilt({ optional = false } = {}) {
  const built = statSync(BUILT, { throwIfNoEntry: false });
  const sourcesChanged = Math.max(...SOURCES.map((source) => newestChange(path.join(ROOT, source))));
  if (built && built.mtimeMs >= sourcesChanged) return;
  const tsc = typescriptCompiler();
  if (!tsc) {
    if (built || optional) return;
    process.stderr.write(
      'portcullis: dist/ is missing; build it with `npm run build` (TypeScript is a dev dependency).\n',
    );
    process.exit(1);
  }
  process.stderr.write(`portcullis: ${built ? 'sources changed' : 'no build yet'}; compiling…\n`);
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !existsSync(BUILT)) {
    process.stderr.write('portcullis: the build failed (see above).\n');
    process.exit(1);
  }
}

module.exports = { ensureBuilt };

// `npm install` runs this as the project's `prepare` step, so the first `npm start` finds a build;
// an install without dev dependencies has no compiler and skips it.
if (require.main === module) ensureBuilt({ optional: true });
