/**
 * The aiop side of (e): packs one folder with the library's writeZip or writeDeb, so only
 * packing is measured (no playbook, no recipe, no copy of the gigabyte into a package).
 *
 *   node dist/bench/pack-one.js zip|deb|rpm PKG_DIR OUT_FILE [--rss FILE]
 */
import { basename } from 'node:path';
import { writeZip } from '../src/pack/zip.js';
import { writeDeb } from '../src/pack/deb.js';
import { writeRpm } from '../src/pack/rpm.js';
import { recordRssFromArgs } from './self-rss.js';

const [kind, pkgDir, outFile] = recordRssFromArgs(process.argv.slice(2));
if ((kind !== 'zip' && kind !== 'deb' && kind !== 'rpm') || !pkgDir || !outFile) {
  process.stderr.write('usage: pack-one.js zip|deb|rpm PKG_DIR OUT_FILE\n');
  process.exit(2);
}
// A fixed time, as SOURCE_DATE_EPOCH would give: outputs are reproducible.
const mtime = new Date(Date.UTC(2024, 0, 1));
if (kind === 'zip') {
  await writeZip(pkgDir, outFile, { topFolder: basename(pkgDir), mtime });
} else if (kind === 'rpm') {
  await writeRpm(
    pkgDir,
    outFile,
    {
      name: 'benchpkg',
      version: '1.0.0',
      release: '1',
      description: 'generated benchmark package\nHalf text, half random bytes.',
      license: 'MIT',
      architecture: 'x86_64',
      installPrefix: '/opt/benchpkg',
      compression: 'gzip',
    },
    { mtime },
  );
} else {
  await writeDeb(
    pkgDir,
    outFile,
    {
      name: 'benchpkg',
      version: '1.0.0',
      maintainer: 'Bench <bench@example.com>',
      description: 'generated benchmark package\nHalf text, half random bytes.',
      architecture: 'amd64',
      installPrefix: '/usr',
      compression: 'gzip',
    },
    { mtime },
  );
}
