/**
 * The aiop side of (e): packs one folder with the library's writeZip or writeDeb, so only
 * packing is measured (no playbook, no recipe, no copy of the gigabyte into a package).
 *
 *   node dist/bench/pack-one.js zip|deb PKG_DIR OUT_FILE [--rss FILE]
 */
import { basename } from 'node:path';
import { writeZip } from '../src/pack/zip.js';
import { writeDeb } from '../src/pack/deb.js';
import { recordRssFromArgs } from './self-rss.js';

const [kind, pkgDir, outFile] = recordRssFromArgs(process.argv.slice(2));
if ((kind !== 'zip' && kind !== 'deb') || !pkgDir || !outFile) {
  process.stderr.write('usage: pack-one.js zip|deb PKG_DIR OUT_FILE\n');
  process.exit(2);
}
// A fixed time, as SOURCE_DATE_EPOCH would give: outputs are reproducible.
const mtime = new Date(Date.UTC(2024, 0, 1));
if (kind === 'zip') {
  await writeZip(pkgDir, outFile, { topFolder: basename(pkgDir), mtime });
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
