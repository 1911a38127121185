#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc (also in `npm start`): V8 marks and sweeps on the main thread instead of
// helper threads. reef's heap is small (~15 MB) but a blob upload drives a major GC every
// ~64 MB of request-body buffers; on a 2-core edge box the concurrent marker threads then compete
// with the pushing client for the second core. Measured on a 1 GiB skopeo push: server CPU
// −20 to −30%, push time −10 to −15% (bench/RESULTS.md, registry analysis).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './core/paths.js';
import { IGNITION_HELP } from './ignition/cli-help.js';

// Each command's modules load when it runs, so `reef iso embed` does not pay for the registry
// client or the server at start (a fixed cost beside a one-second copy).
const registryCli = () => import('./registry/cli.js');
const pushCommand = async (argv: string[]) => (await registryCli()).pushCommand(argv);
const pullCommand = async (argv: string[]) => (await registryCli()).pullCommand(argv);
const gcCommand = async (argv: string[]) => (await registryCli()).gcCommand(argv);
const registryCommand = async (argv: string[]) => (await registryCli()).registryCommand(argv);
const isoCommand = async (argv: string[]) => (await import('./ignition/iso-cli.js')).isoCommand(argv);
const ignitionCommand = async (argv: string[]) => (await import('./ignition/cli.js')).ignitionCommand(argv);
const agentCommand = async (argv: string[]) => (await import('./maintenance-os/cli.js')).agentCommand(argv);
const mirrorCommand = async (argv: string[]) => (await import('./mirror/cli.js')).mirrorCommand(argv, process.env);
const prestageCommand = async (argv: string[]) => (await import('./ignition/prestage/cli.js')).prestageCommand(argv);

const HELP = `reef — edge provisioning controller for bare-metal pre-staging

Usage:
  reef serve            run the controller (HTTP API, task ISOs, iPXE boot scripts, registry)
${IGNITION_HELP.trimEnd()}
  reef push <host[:port]/repo[:tag]> <file> [--artifact-type T] [--plain-http] [--ca FILE] [-u user:pass]
                        push one file (rootfs tarball, WIM) as an OCI artifact
  reef pull <host[:port]/repo[:tag|@digest]> -o <file> [--plain-http] [--ca FILE] [-u user:pass]
                        pull a single-file artifact, digest verified, resumed after drops
  reef gc [--dry-run] [--server URL] [--token-file FILE | REEF_TOKEN=T] [--ca FILE]
                        run the registry's garbage collection now (an operator token, or none
                        on the controller itself under REEF_API_AUTH=local)
  reef registry scrub [--server URL] [--token-file FILE | REEF_TOKEN=T] [--ca FILE]
                        re-hash every stored blob now; damaged ones are listed, moved aside so a
                        push of the same content heals them (exit 3 when any was damaged)
  reef agent [--task <dir|iso|recipe.json>] [--disk /dev/X] [--dry-run] [--step NAME]
                        maintenance OS: partition, format, pull and lay down the job's image,
                        reporting each step to the controller (task from --task, the kernel
                        command line reef.controller= reef.job= reef.token=, or a TASK_* ISO)
  reef iso embed --ignition F|- --in live.iso [--out node.iso] [--force] [--compression xz|gzip]
                        embed an Ignition config in a CoreOS live ISO (in place without --out)
  reef iso show node.iso
                        print the embedded Ignition config (exit 1 if none)
  reef iso reset node.iso [--out F]
                        remove the embedded Ignition config (zero the embed area)
  reef mirror -c isc.yaml docker://<registry>[/<ns>] | file://<dir> | --from file://<dir> docker://…
                        oc-mirror v2's flows: mirror to a registry, to disk (archives), disk to registry
  reef prestage partition|download ...
                        factory pre-staging: data partition, image pre-cache (reef prestage --help)
  reef token create --name NAME --role viewer|operator|admin [--expires 90d]
                        make an API token (printed once); also registry login with REGISTRY_AUTH_MODE=token
  reef token list [--json] | reef token revoke NAME
                        on the controller's box, against REEF_DATA_DIR
  reef --help           this text
  reef --version        print the version

Settings (environment, or a YAML file named by REEF_CONFIG with the same keys):
  REEF_LISTEN                 host:port to listen on            (default 0.0.0.0:8080)
  REEF_DATA_DIR               SQLite database and media         (default ./data)
  REEF_PUBLIC_URL             URL machines use to reach reef    (default from REEF_LISTEN)
  LOG_LEVEL                   trace|debug|info|warn|error       (default info)
  REEF_MEDIA_SIGNING_SECRET   sign /media URLs with HMAC        (default: unsigned)
  REEF_MEDIA_URL_TTL          lifetime of signed URLs           (default 24h)
  REEF_MEDIA_RETENTION        keep ISOs of finished jobs        (default 14d)
  REEF_MEDIA_CLEANUP_SCHEDULE cron schedule of the cleanup      (default "17 * * * *")
  REEF_WEBHOOK_SECRET         X-Webhook-Secret for /api/v1/status-webhook
  REEF_BOOT_KERNEL, REEF_BOOT_INITRD, REEF_BOOT_CMDLINE
                              maintenance OS for /boot.ipxe chain boot
  REEF_BOOT_DIR               the maintenance OS served at /media/maintenance (default <data>/boot)
  REEF_BOOT_ISO               live ISO served as /media/tasks/<job>/boot.iso for sanboot
  REEF_MAX_BODY               request body limit in bytes       (default 1048576)
  REEF_SHUTDOWN_GRACE         time given to in-flight requests  (default 10s)
  REEF_BODY_TIMEOUT           a JSON/YAML or manifest body must arrive within this, else 408 (default 30s)
  REEF_JOB_TIMEOUT            fail an active job with no report for this long (default 2h)
  REEF_JOB_MAX_EVENTS         events one job keeps; later progress reports add none (default 10000)
  REEF_SPACE_RESERVE          bytes kept free on the data disk for deletions and GC (default 16777216)
  REEF_API_AUTH               token | local | none: who may call the API without a token;
                              local = requests from loopback addresses  (default local)
  REEF_METRICS_AUTH           open | token: /metrics needs a viewer token (default open)
  REEF_AUTH_FAILURES          failed token checks per address per minute before 429 (default 30)
  REEF_TLS                    off | auto: HTTPS with a site CA made under <data>/tls (default off)
  REEF_TLS_CERT, REEF_TLS_KEY HTTPS with these PEM files (reloaded on SIGHUP)
  REEF_BOOT_LISTEN            host:port of a plain-HTTP listener serving only boot scripts and media
  REEF_MIRROR_ISC             ImageSetConfiguration a site keeps in sync into its own registry
  REEF_MIRROR_SCHEDULE        cron schedule of that sync (unset: POST /api/v1/mirror/runs)
  REEF_MIRROR_UPSTREAM_AUTHFILE  registry credentials (docker config JSON) for the sync's upstreams
`;

const version = (): string => (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/** The server's settings, parsed once; a bad one ends the command with its message (exit 2). */
const serverConfig = async () => {
  const { ConfigError, loadConfig } = await import('./controller/config.js');
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`reef: configuration error:\n${err.message.replace(/^/gm, '  ')}\n`);
      process.exit(2);
    }
    throw err;
  }
};

const tokenCommand = async (argv: string[]) => (await import('./controller/auth/token-cli.js')).tokenCommand(argv, (await serverConfig()).dataDir);

const serve = async (): Promise<void> => {
  // The server's modules (hono, drizzle, SQLite, pino) load only for `serve`: they cost the
  // other commands ~0.3 s of CPU at start.
  const config = await serverConfig();
  const { startReef } = await import('./controller/main.js');
  const reef = await startReef(config);
  process.stdout.write(`reef listening on ${reef.url} (public URL ${reef.publicUrl})\n`);
  const stop = (signal: string) => {
    reef.log.info({ signal }, 'shutting down');
    reef.close().then(
      () => process.exit(0),
      (err) => {
        reef.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
};

const main = async (argv: string[]): Promise<void> => {
  const [command] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'ignition':
      return ignitionCommand(argv.slice(1));
    case 'push':
      return pushCommand(argv.slice(1));
    case 'pull':
      return pullCommand(argv.slice(1));
    case 'gc':
      return gcCommand(argv.slice(1));
    case 'registry':
      return registryCommand(argv.slice(1));
    case 'agent':
      return agentCommand(argv.slice(1));
    case 'iso':
      return isoCommand(argv.slice(1));
    case 'prestage':
      return prestageCommand(argv.slice(1));
    case 'token':
      return tokenCommand(argv.slice(1));
    case 'mirror':
      return mirrorCommand(argv.slice(1));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return;
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return;
    default:
      process.stderr.write(`reef: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
      process.exit(2);
  }
};

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
    process.stderr.write(`reef: cannot listen: ${e.message}\n`);
  } else if (e instanceof Error && (e.name === 'OciClientError' || e.name === 'RegistryError' || /^usage:|^reference |^-u |^reef /.test(e.message))) {
    process.stderr.write(`reef: ${e.message}\n`);
  } else {
    process.stderr.write(`reef: ${e.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
