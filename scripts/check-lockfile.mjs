// CI: every package-lock.json entry names its version (entries without one made `npm ci` fail
// with "Invalid Version" on npm 11.19), and the lockfile is exactly what this npm would write.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const lockPath = path.join(import.meta.dirname, '..', 'package-lock.json');
const before = readFileSync(lockPath, 'utf8');
const { packages } = JSON.parse(before);
const unversioned = Object.entries(packages).filter(([key, entry]) => key !== '' && !entry.link && !entry.version);
if (unversioned.length > 0) {
  process.stderr.write(
    `package-lock.json: entries without a version:\n  ${unversioned.map(([key]) => key).join('\n  ')}\n`,
  );
  process.exit(1);
}
execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
  cwd: path.dirname(lockPath),
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (readFileSync(lockPath, 'utf8') !== before) {
  process.stderr.write(
    `package-lock.json is not what npm ${execFileSync('npm', ['--version']).toString().trim()} writes: run npm install and commit it\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `package-lock.json: ${Object.keys(packages).length - 1} entries, all versioned, as npm writes it\n`,
);
