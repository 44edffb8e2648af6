import { test } from 'node:test';
import assert from 'node:assert/strict';
import { debInfoFrom, installerFileName } from '../../src/pack/deb-info.js';
import { checkDebInfo } from '../../src/pack/deb.js';
import { UsageError } from '../../src/core/errors.js';
import { debSchema } from '../../src/playbook/schema.js';

const pkg = { name: 'hello', version: '1.4.0', maintainer: 'Hello Team <hello@example.com>', description: 'Says hello.\nLonger.\n', homepage: 'https://example.com/hello' };

test('the playbook deb section becomes a valid DebInfo, variables expanded and scripts resolved', () => {
  const deb = debSchema.parse({
    architecture: '${arch}',
    install_map: { 'etc/': '/etc/' },
    depends: ['libc6 (>= 2.31)'],
    pre_depends: ['dpkg (>= 1.19)'],
    provides: ['${name}-greeter'],
    compression: 'zstd',
    conffiles: ['etc/hello/hello.conf'],
    scripts: { postinst: 'files/postinst.sh' },
  });
  const info = debInfoFrom(pkg, deb, { playbookRoot: '/play', expand: (s) => s.replace('${arch}', 'amd64').replace('${name}', 'hello') });
  assert.deepEqual(info.relations, { pre_depends: ['dpkg (>= 1.19)'], depends: ['libc6 (>= 2.31)'], provides: ['hello-greeter'] });
  assert.equal(info.architecture, 'amd64');
  assert.equal(info.installPrefix, '/usr', 'schema default');
  assert.equal(info.compression, 'zstd');
  assert.equal(debSchema.parse({ architecture: 'all' }).compression, 'gzip', 'schema default');
  assert.throws(() => debSchema.parse({ architecture: 'all', compression: 'bzip2' }));
  assert.deepEqual(info.scripts, { postinst: '/play/files/postinst.sh' });
  assert.deepEqual(checkDebInfo(info), []);
});

test('--installer_name adds .deb when missing and must be a plain file name', () => {
  const info = debInfoFrom(pkg, debSchema.parse({ architecture: 'arm64' }), { playbookRoot: '/play' });
  assert.equal(installerFileName(info), 'hello_1.4.0_arm64.deb');
  assert.equal(installerFileName(info, 'hello-installer'), 'hello-installer.deb');
  assert.equal(installerFileName(info, 'custom.deb'), 'custom.deb');
  assert.throws(() => installerFileName(info, '../evil'), UsageError);
});
