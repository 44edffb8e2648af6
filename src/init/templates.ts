/**
 * The files `aiop init` writes: a small but complete playbook that builds at once, makes a
 * .deb that lintian accepts, and shows each part of the formats with a comment.
 */

import { schemaModeline, type PlaybookFile } from '../playbook/editor-schemas.js';

/** What the templates are filled with. */
export interface InitValues {
  /** Debian package name. */
  name: string;
  /** System target name. */
  target: string;
  /** The moment of `aiop init`, for the changelog and copyright. */
  now: Date;
}

/** One file to write, relative to the playbook root. */
export interface InitFile {
  path: string;
  content: string;
  executable?: boolean;
  /** Written only when missing, never a reason to refuse (a repository's own .gitignore). */
  optional?: boolean;
}

/** The compatibility parameters of the new system target; the first value of each is the example build. */
export const INIT_PARAMETERS = [
  { name: 'distro', choices: ['debian12', 'ubuntu24.04'], help: 'Distribution release' },
  { name: 'arch', choices: ['amd64', 'arm64'], help: 'CPU architecture' },
] as const;

/** RFC 2822 date as Debian changelogs want it, always in UTC. */
function changelogDate(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${two(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

const MAINTAINER = 'Your Name <you@example.com>';

/** Every file of a new playbook. */
export function initFiles(v: InitValues): InitFile[] {
  const { name, target } = v;
  const schema = (file: string): string => schemaModeline(file as PlaybookFile);
  const params = INIT_PARAMETERS.map((p) => `      - { name: ${p.name}, choices: [${p.choices.join(', ')}], help: ${p.help} }`).join('\n');
  const inventory = `${schema('inventory_config.yml')}
# The package, its system targets and their compatibility parameters.
# Reference: docs/formats.md (shipped with aiop); check it with "aiop validate".
package:
  name: ${name}
  version: 0.1.0
  maintainer: ${MAINTAINER}
  description: |
    Example program packaged with aiop
    Replace these lines: the first is a one-line summary (it must not start
    with the package name), the others say what the program does.
  homepage: https://example.com/${name}
system_targets:
  ${target}:
    compatibility:               # the arguments of "aiop build ${target}", in this order
${params}
    # Prebuilt files to download (verified, cached) and place in the package before the recipe runs:
    # artifacts:
    #   - name: tool
    #     url: https://example.com/tool-1.0-\${arch}.tar.gz
    #     sha256: <the file's SHA-256, 64 hexadecimal digits>
    #     extract: true
    #     strip_components: 1
    #     dest: bin/
    deb:                         # used by --installer deb
      architecture: \${arch}
      install_prefix: /usr
      section: utils
      priority: optional
      # compression: gzip         # of data.tar: gzip, xz, zstd or none (lintian accepts gzip and xz)
      # Relations, one per item: pre_depends, depends, recommends, suggests, enhances,
      # breaks, conflicts, replaces, provides
      # depends: [libc6 (>= 2.31)]
      # recommends: [ca-certificates]
    # rpm:                       # used by --installer rpm (both: --installer deb rpm)
    #   license: MIT
    #   architecture: \${arch}     # amd64 becomes x86_64, arm64 aarch64
    #   release: 1
    #   group: Applications/System
    #   install_prefix: /usr
    #   requires: [glibc >= 2.31]  # also provides, conflicts, obsoletes, recommends, suggests
    #   config_files: [etc/${name}/${name}.conf]   # %config(noreplace)
    #   scripts: { post: files/post.sh }           # pre, post, preun, postun
    #   compression: gzip          # gzip, xz or zstd
`;
  const recipe = `${schema('recipe.yml')}
# How each file of the package is made. File targets are paths inside the package folder;
# sources are paths in the playbook. Built-in commands start with ':'; others run in /bin/sh.
variables:
  DOC: share/doc/$name
default: package
targets:
  package:
    virtual: true
    depends: [bin/${name}, $DOC/README, $DOC/copyright, $DOC/changelog.gz]
  bin/${name}:
    sources: [files/${name}.sh]
    commands:
      - :copy $source $target
      - :chmod 0755 $target
  $DOC/README:
    sources: [files/README.in]
    commands: [":template $source $target"]
  $DOC/copyright:
    sources: [files/copyright]
    commands: [":copy $source $target"]
  $DOC/changelog.gz:
    sources: [files/changelog]
    commands: [":gzip $source $target"]
`;
  const [first, second] = INIT_PARAMETERS;
  const packages = `${schema('packages.yml')}
# What "aiop build_all" builds (and what "aiop build_all --ci gitlab" turns into CI jobs).
packages:
  - system_target: ${target}
    compat_args: { ${first.name}: ${first.choices[0]}, ${second.name}: ${second.choices[0]} }
    options: { zip_pack: true, installer: deb }
  - system_target: ${target}
    matrix: { ${first.name}: [${first.choices.join(', ')}], ${second.name}: [${second.choices.slice(1).join(', ')}] }
    options: { zip_pack: true }
# How the jobs generated by "build_all --ci gitlab|github" run aiop. Left out, they run it
# the way build_all found it: "aiop" when it is on PATH, "npx --no-install aiop" when it
# comes from this project's node_modules.
# ci:
#   command: npx --no-install aiop   # any shell command line that runs aiop
#   image: node:22-bookworm          # GitLab: the jobs' container image
#   before_script: [npm ci]          # GitLab: commands before the build
#   tags: [docker]                   # GitLab: runner tags
`;
  const year = v.now.getUTCFullYear();
  return [
    { path: '.aiop/inventory_config.yml', content: inventory },
    { path: '.aiop/recipe.yml', content: recipe },
    { path: '.aiop/packages.yml', content: packages },
    { path: '.aiop/.gitignore', content: '# Written by aiop: local state and logs, safe to delete\nstate/\nlogs/\n' },
    { path: `files/${name}.sh`, content: `#!/bin/sh\n# ${name}: replace this script with your program.\necho "Hello from ${name}"\n`, executable: true },
    {
      path: 'files/README.in',
      content: '$name $version for $system_target $distro ($arch)\n\nRendered by ":template", which expands variables such as $($)version; write $($)($($)) for a literal dollar sign.\n',
    },
    {
      path: 'files/copyright',
      content: `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${name}

Files: *
Copyright: ${year} ${MAINTAINER}
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.
`,
    },
    {
      path: 'files/changelog',
      content: `${name} (0.1.0) unstable; urgency=medium\n\n  * Initial package, written by aiop init.\n\n -- ${MAINTAINER}  ${changelogDate(v.now)}\n`,
    },
    { path: '.gitignore', content: '# aiop build output\n.build/\n', optional: true },
  ];
}
