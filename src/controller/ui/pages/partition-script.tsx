import type { Filesystem } from '../../../ignition/prestage/partition.js';
import { partitionScript } from '../../../ignition/prestage/partition-script.js';
import { PrestageInputError } from '../../../ignition/prestage/errors.js';
import { parseSize } from '../../../ignition/prestage/sizes.js';
import { FieldErrors, Pre } from '../parts.js';

/** The partition form's fields; the flags of `reef prestage partition` they stand for. */
const FIELDS = [
  ['device', '--device', 'Disk of the node', '/dev/nvme0n1'],
  ['size', '--size', 'Size of the data partition', '100G'],
  ['label', '--label', 'GPT name and filesystem label', 'data'],
  ['fs', '--fs', 'Filesystem (xfs or ext4)', 'xfs'],
] as const;

type Query = (key: string) => string | undefined;

/**
 * The script `reef prestage partition --print` writes, for the options given, or the field at
 * fault: the same checks and commands as the command (ignition/prestage/partition-script.ts).
 */
export const partitionScriptFor = (query: Query): { script?: string; field?: string; message?: string } => {
  const device = query('device');
  const size = query('size');
  if (!device || !size) return {};
  try {
    return {
      script: partitionScript({ device, size: parseSize(size, '--size'), label: query('label') || undefined, fs: (query('fs') || undefined) as Filesystem | undefined, force: query('force') === 'on' }),
    };
  } catch (err) {
    if (!(err instanceof PrestageInputError)) throw err;
    return { field: FIELDS.find(([, flag]) => flag === err.field)?.[0] ?? 'device', message: err.message.slice(err.field.length + 2) };
  }
};

export const PartitionScriptSection = (p: { query: Query }) => {
  const result = partitionScriptFor(p.query);
  const params = new URLSearchParams(FIELDS.flatMap(([key]): [string, string][] => (p.query(key) ? [[key, p.query(key)!]] : [])));
  if (p.query('force') === 'on') params.set('force', 'on');
  return (
    <section aria-labelledby="h-partition">
      <h2 id="h-partition">Data partition script</h2>
      <form method="get" action="/ui/prestage#h-partition" class="filters" aria-label="Partition options">
        {FIELDS.map(([key, flag, label, placeholder]) => {
          const messages = result.field === key && result.message ? [result.message] : [];
          return (
            <div>
              <label for={`p-${key}`}>
                {label} <span class="muted">({flag})</span>
              </label>
              <input type="text" id={`p-${key}`} name={key} value={p.query(key) ?? ''} placeholder={placeholder} aria-invalid={messages.length ? 'true' : undefined} aria-describedby={messages.length ? `p-${key}-error` : undefined} />
              <FieldErrors id={`p-${key}`} messages={messages} />
            </div>
          );
        })}
        <div>
          <label for="p-force">Wipe a used disk (--force)</label>
          <input type="checkbox" id="p-force" name="force" checked={p.query('force') === 'on'} />
        </div>
        <button type="submit">Make the script</button>
      </form>
      {result.script ? (
        <>
          <p>
            <a href={`/ui/prestage/partition?${params}`} download="partition.sh">
              Download partition.sh
            </a>
          </p>
          <Pre label="Partition script">{result.script}</Pre>
        </>
      ) : null}
    </section>
  );
};
