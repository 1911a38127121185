import { checkPartitionOptions, partitionCommands, type PartitionOptions } from './partition.js';
import { sgdiskSize } from './sizes.js';

/** Quotes one word for POSIX sh (only when needed). */
export const shQuote = (word: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const line = (argv: string[], dev: string, part: string) =>
  argv.map((w) => (w === dev ? '"$DEV"' : w === part ? '"$PART"' : shQuote(w))).join(' ');

/**
 * The shell script `reef prestage partition --print` emits: the same checks and the same
 * commands as the runner (partition 1: the script is for an empty disk, or wipes it with
 * --force), for running on a machine where reef is not installed.
 */
export const partitionScript = (opts: PartitionOptions): string => {
  const o = checkPartitionOptions(opts);
  const cmds = partitionCommands('$DEV', 1, o, '$PART');
  const size = sgdiskSize(o.size);
  return `#!/bin/sh
# Pre-staging data partition (${size}, GPT name ${o.label}, ${o.fs}) at the end of ${o.device}.
# Written by: reef prestage partition --device ${shQuote(o.device)} --size ${size} --label ${o.label} --fs ${o.fs}${o.force ? ' --force' : ''} --print
set -eu
DEV=$(readlink -f ${shQuote(o.device)})
SIZE=${o.size}
fail() { echo "$*" >&2; exit 1; }
refuse() { echo "$*; nothing was changed" >&2; exit 3; }
bad() { echo "$*" >&2; exit 2; }
[ -b "$DEV" ] || bad "--device: $DEV is not a block device"
DISK=$(blockdev --getsize64 "$DEV")
SS=$(blockdev --getss "$DEV")
USABLE=$(((DISK - 1048576 - SS - (16384 + SS - 1) / SS * SS) / 1048576 * 1048576))
[ "$SIZE" -le "$USABLE" ] || bad "--size: ${size} is larger than $DEV ($DISK bytes, at most $USABLE fit a partition)"
if lsblk -nro MOUNTPOINT "$DEV" | grep -q .; then refuse "$DEV is in use (mounted); unmount it first"; fi
${
  o.force
    ? [...cmds.zap.map((c) => line(c, '$DEV', '$PART')), `${line(cmds.forget, '$DEV', '$PART')} 2>/dev/null || true`].join('\n')
    : `if [ -n "$(wipefs --noheadings --output TYPE "$DEV")" ] || blkid -p "$DEV" >/dev/null 2>&1 || [ "$(lsblk -nro NAME "$DEV" | wc -l)" -gt 1 ]; then
  refuse "$DEV is not empty (partitions or signatures). Re-run with --force to wipe it"
fi`
}
case "$DEV" in
  *[0-9]) PART="\${DEV}p1" ;;
  *) PART="\${DEV}1" ;;
esac
${line(cmds.create, '$DEV', '$PART')}
${line(cmds.reread, '$DEV', '$PART')}
i=0
while [ ! -b "$PART" ]; do
  i=$((i + 1))
  [ "$i" -ne 50 ] || partx -a "$DEV" || true
  [ "$i" -le 100 ] || fail "$PART did not appear after partx"
  sleep 0.1
done
${line(cmds.mkfs, '$DEV', '$PART')}
`;
};
