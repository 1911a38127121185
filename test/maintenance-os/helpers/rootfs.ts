import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A small root filesystem holding what a rootfs extraction must keep: owners, modes, a setuid
 * binary, a symlink, a hard link, a character device and an xattr. Returns the tarball path.
 */
export const buildRootfs = (dir: string, opts: { gzip?: boolean; extra?: (tree: string) => void } = {}) => {
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(join(tree, 'home/ops'), { recursive: true });
  mkdirSync(join(tree, 'dev'), { recursive: true });
  mkdirSync(join(tree, 'boot/efi/EFI/test'), { recursive: true });
  writeFileSync(join(tree, 'etc/os-release'), 'ID=reeftest\nVERSION_ID=1\n');
  writeFileSync(join(tree, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(tree, 'usr/bin/tool'), 0o755);
  writeFileSync(join(tree, 'usr/bin/su-helper'), 'setuid\n');
  chmodSync(join(tree, 'usr/bin/su-helper'), 0o4755);
  linkSync(join(tree, 'usr/bin/tool'), join(tree, 'usr/bin/tool-hardlink'));
  symlinkSync('/usr/bin/tool', join(tree, 'usr/bin/tool-symlink'));
  writeFileSync(join(tree, 'home/ops/notes.txt'), 'owned by 1000\n');
  chownSync(join(tree, 'home/ops'), 1000, 1000);
  chownSync(join(tree, 'home/ops/notes.txt'), 1000, 1000);
  chmodSync(join(tree, 'home/ops/notes.txt'), 0o640);
  writeFileSync(join(tree, 'boot/efi/EFI/test/marker.txt'), 'on the ESP\n');
  execFileSync('mknod', [join(tree, 'dev/null'), 'c', '1', '3']);
  execFileSync('setfattr', ['-n', 'user.reef.test', '-v', 'kept', join(tree, 'etc/os-release')]);
  opts.extra?.(tree);
  const tarball = join(dir, opts.gzip ? 'rootfs.tar.gz' : 'rootfs.tar');
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', ...(opts.gzip ? ['-z'] : []), '-cf', tarball, '-C', tree, '.']);
  return tarball;
};
