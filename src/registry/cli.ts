import { parseArgs } from 'node:util';
import { pullArtifact, pushArtifact } from './client/artifact.js';
import { createOciClient } from './client/oci-client.js';
import { parseImageRef } from './client/reference.js';
import { progressBar } from './client/progress.js';

const creds = (u: string | undefined) => {
  if (u === undefined) return {};
  const i = u.indexOf(':');
  if (i < 0) throw new Error('-u expects user:password');
  return { username: u.slice(0, i), password: u.slice(i + 1) };
};

/** `reef push <ref> <file> [--artifact-type T] [--plain-http] [-u user:pass]` */
export const pushCommand = async (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'artifact-type': { type: 'string' }, 'plain-http': { type: 'boolean' }, user: { type: 'string', short: 'u' } },
  });
  const [refText, file] = positionals;
  if (!refText || !file) throw new Error('usage: reef push <host[:port]/repo[:tag]> <file> [--artifact-type T] [--plain-http] [-u user:pass]');
  const ref = parseImageRef(refText);
  const client = createOciClient({ registry: ref.registry, plainHttp: values['plain-http'], ...creds(values.user), onProgress: progressBar(`push ${file}`) });
  const digest = await pushArtifact(client, ref.repository, ref.reference, file, values['artifact-type']);
  process.stdout.write(`Pushed ${refText}\nDigest: ${digest}\n`);
};

/** `reef pull <ref> -o <file> [--plain-http] [-u user:pass]` */
export const pullCommand = async (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, 'plain-http': { type: 'boolean' }, user: { type: 'string', short: 'u' } },
  });
  const [refText] = positionals;
  if (!refText || !values.output) throw new Error('usage: reef pull <host[:port]/repo[:tag|@digest]> -o <file> [--plain-http] [-u user:pass]');
  const ref = parseImageRef(refText);
  const client = createOciClient({ registry: ref.registry, plainHttp: values['plain-http'], ...creds(values.user), onProgress: progressBar(`pull ${refText}`) });
  const got = await pullArtifact(client, ref.repository, ref.reference, values.output);
  process.stdout.write(`Pulled ${refText} to ${values.output} (${got.size} bytes, ${got.digest})\n`);
};

/** `reef gc [--dry-run] [--server URL] [-u user:pass]` */
export const gcCommand = async (argv: string[]) => {
  const { values } = parseArgs({ args: argv, options: { 'dry-run': { type: 'boolean' }, server: { type: 'string' }, user: { type: 'string', short: 'u' } } });
  const server = (values.server ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const headers: Record<string, string> = values.user ? { Authorization: `Basic ${Buffer.from(values.user).toString('base64')}` } : {};
  const res = await fetch(`${server}/admin/gc${values['dry-run'] ? '?dry_run=true' : ''}`, { method: 'POST', headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`gc: HTTP ${res.status} ${text}`);
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
};
