/** A realistic package folder for the pack tests: what a playbook's recipe would lay out. */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DebInfo } from '../../src/pack/deb.js';
import type { RpmInfo } from '../../src/pack/rpm.js';
import type { Compression } from '../../src/pack/compress.js';

/** Writes the package folder under `dir/pkg` and a postinst under `dir/scripts`; returns their paths. */
export async function makePackage(dir: string): Promise<{ pkgDir: string; postinst: string }> {
  const pkgDir = join(dir, 'pkg');
  const file = async (rel: string, content: string | Buffer, mode = 0o644): Promise<void> => {
    await mkdir(join(pkgDir, rel, '..'), { recursive: true });
    await writeFile(join(pkgDir, rel), content);
    await chmod(join(pkgDir, rel), mode);
  };
  await file('bin/hello', '#!/bin/sh\necho "Hello, world"\n', 0o755);
  await file('etc/hello/hello.conf', 'greeting=Hello\n', 0o600);
  await file(
    'share/doc/hello/copyright',
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: hello\n\nFiles: *\nCopyright: 2024 Hello Team\nLicense: MIT\n Permission is hereby granted, free of charge, to any person obtaining a copy.\n',
  );
  const changelog =
    'hello (1.4.0) unstable; urgency=medium\n\n  * Initial release.\n\n -- Hello Team <hello@example.com>  Mon, 01 Jan 2024 00:00:00 +0000\n';
  // level 9 and node's zlib header (mtime 0, no name): what lintian expects of a compressed changelog.
  await file('share/doc/hello/changelog.gz', gzipSync(changelog, { level: 9 }));
  await file(
    'share/man/man1/hello.1.gz',
    gzipSync('.TH HELLO 1\n.SH NAME\nhello \\- says hello\n.SH SYNOPSIS\n.B hello\n.SH DESCRIPTION\nPrints a greeting.\n', { level: 9 }),
  );
  await file('share/hello/data with space.txt', 'x'.repeat(3000));
  await mkdir(join(pkgDir, 'share/hello/empty'), { recursive: true });
  await symlink('hello', join(pkgDir, 'bin/hi'));
  await symlink('hello.1.gz', join(pkgDir, 'share/man/man1/hi.1.gz'));
  const postinst = join(dir, 'scripts', 'postinst');
  await mkdir(join(dir, 'scripts'), { recursive: true });
  await writeFile(postinst, [
      '#!/bin/sh',
      'set -e',
      '# Only ever touches the scratch root that the tests install into.',
      '[ -n "$DPKG_ROOT" ] || exit 0',
      'if [ "$1" = configure ]; then',
      '  mkdir -p "$DPKG_ROOT/var/lib/hello"',
      '  echo configured > "$DPKG_ROOT/var/lib/hello/configured"',
      'fi',
      '',
    ].join('\n'), { mode: 0o644 });
  return { pkgDir, postinst };
}

/** The .deb settings that go with {@link makePackage}. */
export function helloInfo(postinst: string, compression: Compression = 'gzip'): DebInfo {
  return {
    name: 'hello',
    version: '1.4.0',
    maintainer: 'Hello Team <hello@example.com>',
    description: 'Says hello\nA friendly program that prints a greeting.\n\nIt exists to test packaging.\n',
    homepage: 'https://example.com/hello',
    architecture: 'all',
    installPrefix: '/usr',
    installMap: { 'etc/': '/etc/' },
    relations: { depends: ['libc6 (>= 2.31)', 'sensible-utils | less'] },
    section: 'utils',
    priority: 'optional',
    conffiles: ['etc/hello/hello.conf'],
    scripts: { postinst },
    compression,
  };
}

/** The .rpm settings that go with {@link makePackage}. */
export function helloRpmInfo(post: string, compression: Compression = 'gzip'): RpmInfo {
  return {
    name: 'hello',
    version: '1.4.0',
    release: '1',
    description: 'Says hello\nA friendly program that prints a greeting.\n\nIt exists to test packaging.\n',
    license: 'MIT',
    architecture: 'noarch',
    packager: 'Hello Team <hello@example.com>',
    group: 'Applications/System',
    url: 'https://example.com/hello',
    installPrefix: '/usr',
    installMap: { 'etc/': '/etc/' },
    relations: {
      requires: ['glibc >= 2.31', 'coreutils'],
      provides: ['greeter = 1.4.0'],
      conflicts: ['hello-legacy'],
      obsoletes: ['hello-old < 1.0'],
      recommends: ['less'],
      suggests: ['zsh'],
    },
    configFiles: ['etc/hello/hello.conf'],
    scripts: { post },
    compression,
  };
}
