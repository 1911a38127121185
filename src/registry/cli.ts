import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, fetch } from 'undici';
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

/** `--ca FILE`: trust this CA (a site CA reef made) for the registry's TLS, in addition to nothing else. */
const caOption = (file: string | undefined) => (file === undefined ? {} : { ca: readFileSync(file, 'utf8') });

/** `reef push <ref> <file> [--artifact-type T] [--plain-http] [--ca FILE] [-u user:pass]` */
export const pushCommand = async (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'artifact-type': { type: 'string' }, 'plain-http': { type: 'boolean' }, ca: { type: 'string' }, user: { type: 'string', short: 'u' } },
  });
  const [refText, file] = positionals;
  if (!refText || !file) throw new Error('usage: reef push <host[:port]/repo[:tag]> <file> [--artifact-type T] [--plain-http] [--ca FILE] [-u user:pass]');
  const ref = parseImageRef(refText);
  const client = createOciClient({ registry: ref.registry, plainHttp: values['plain-http'], ...caOption(values.ca), ...creds(values.user), onProgress: progressBar(`push ${file}`) });
  const digest = await pushArtifact(client, ref.repository, ref.reference, file, values['artifact-type']);
  process.stdout.write(`Pushed ${refText}\nDigest: ${digest}\n`);
};

/** `reef pull <ref> -o <file> [--plain-http] [--ca FILE] [-u user:pass]` */
export const pullCommand = async (argv: string[]) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, 'plain-http': { type: 'boolean' }, ca: { type: 'string' }, user: { type: 'string', short: 'u' } },
  });
  const [refText] = positionals;
  if (!refText || !values.output) throw new Error('usage: reef pull <host[:port]/repo[:tag|@digest]> -o <file> [--plain-http] [--ca FILE] [-u user:pass]');
  const ref = parseImageRef(refText);
  const client = createOciClient({ registry: ref.registry, plainHttp: values['plain-http'], ...caOption(values.ca), ...creds(values.user), onProgress: progressBar(`pull ${refText}`) });
  const got = await pullArtifact(client, ref.repository, ref.reference, values.output);
  process.stdout.write(`Pulled ${refText} to ${values.output} (${got.size} bytes, ${got.digest})\n`);
};

/**
 * POSTs to one of the server's registry admin endpoints (`reef gc`, `reef registry scrub`) and
 * prints its JSON report. They follow the API's rules: an operator token (see adminToken), or none
 * from the controller itself under REEF_API_AUTH=local; `--ca` trusts a site CA.
 */
const adminCall = async (what: string, path: string, values: AdminValues): Promise<unknown> => {
  const server = (values.server ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const token = adminToken(values);
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const dispatcher = values.ca ? new Agent({ connect: caOption(values.ca) }) : undefined;
  const res = await fetch(`${server}${path}`, { method: 'POST', headers, ...(dispatcher ? { dispatcher } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text}`);
  const report = JSON.parse(text) as unknown;
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report;
};

interface AdminValues {
  server?: string;
  token?: string;
  'token-file'?: string;
  ca?: string;
}

/**
 * The API token for an admin call: `--token-file FILE` (first line), else `REEF_TOKEN`, else
 * `--token`, which works but is visible to every local user in `ps`, so it gets a warning.
 */
const adminToken = (values: AdminValues): string | undefined => {
  if (values['token-file']) {
    const token = readFileSync(values['token-file'], 'utf8').split('\n')[0]!.trim();
    if (!token) throw new Error(`--token-file ${values['token-file']}: the file is empty`);
    return token;
  }
  const fromEnv = process.env.REEF_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  if (values.token) process.stderr.write('warning: --token shows the token to every local user (ps, /proc); prefer --token-file FILE or REEF_TOKEN\n');
  return values.token;
};

const ADMIN_OPTIONS = { server: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' }, ca: { type: 'string' } } as const;

export const gcCommand = async (argv: string[]) => {
  const { values } = parseArgs({ args: argv, options: { 'dry-run': { type: 'boolean' }, ...ADMIN_OPTIONS } });
  await adminCall('gc', `/admin/gc${values['dry-run'] ? '?dry_run=true' : ''}`, values);
};

/** `reef registry scrub`: re-hash every stored blob now; exit 3 when any is damaged. */
export const registryCommand = async (argv: string[]) => {
  const [sub, ...rest] = argv;
  if (sub !== 'scrub') throw new Error('usage: reef registry scrub [--server URL] [--token-file FILE | REEF_TOKEN=T] [--ca FILE]');
  const { values } = parseArgs({ args: rest, options: ADMIN_OPTIONS });
  const report = (await adminCall('scrub', '/admin/scrub', values)) as { damaged?: unknown[] };
  if (report.damaged?.length) process.exitCode = 3;
};
