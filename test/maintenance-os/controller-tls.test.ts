import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTaskIso, taskIsoFiles } from '../../src/controller/media/task-iso.js';
import { pushArtifact } from '../../src/registry/client/artifact.js';
import { createOciClient } from '../../src/registry/client/oci-client.js';
import { type AgentContext, resolveArtifact } from '../../src/maintenance-os/context.js';
import { findTask } from '../../src/maintenance-os/find-task.js';
import { createReporter } from '../../src/maintenance-os/reporter.js';
import type { Task } from '../../src/maintenance-os/task.js';
import { runReef } from '../helpers/process.js';
import { startTestReef, type TestReef } from '../helpers/server.js';
import { linuxRecipe, queuedJob } from '../helpers/task-job.js';
import { makeTestPki, type TestPki } from '../helpers/test-pki.js';
import { requireTool } from '../helpers/tools.js';

const ok = requireTool('openssl');
const JOB = '01JTASKTLS0000000000000000';
const TOKEN = 'job-token-0123456789';
/** A functional bound: a TLS refusal ends at once; the agent's retries (1 s, 2 s, 4 s …) would take longer. */
const FAST_MS = 5000;

/** A stand-in controller over HTTPS: /ca.crt (the genuine CA, public anyway), the job's task and its events. */
const startController = async (pki: TestPki, caServed: string) => {
  const seen = { connections: 0, requests: [] as string[], events: [] as Record<string, unknown>[], auth: [] as string[] };
  let url = '';
  const server = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    seen.requests.push(`${req.method} ${req.url}`);
    seen.auth.push(req.headers.authorization ?? '');
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/ca.crt') return res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(caServed);
      if (req.url === `/api/v1/jobs/${JOB}/task` && req.headers.authorization === `Bearer ${TOKEN}`) {
        const files = Object.fromEntries(
          taskIsoFiles({ job: queuedJob(linuxRecipe(), JOB), token: TOKEN, controllerUrl: url, caPem: caServed }).map((f) => [f.name, Buffer.from(f.data).toString('utf8')]),
        );
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ job_id: JOB, status: 'queued', files }));
      }
      if (req.method === 'POST' && req.url === `/api/v1/jobs/${JOB}/events`) {
        seen.events.push(JSON.parse(body));
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"status":"provisioning"}');
      }
      res.writeHead(404).end();
    });
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return { url, seen, close };
};

/** A TLS front (certificate of `pki`) for a plain-HTTP server: reef's registry served over HTTPS. */
const startTlsFront = async (pki: TestPki, upstreamPort: number) => {
  const seen = { connections: 0 };
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: pki.key, cert: pki.cert }, (client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  server.on('connection', (socket: net.Socket) => {
    seen.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      for (const s of sockets) s.destroy();
    });
  return { host: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen, close };
};

const timed = async <T>(p: Promise<T>) => {
  const t0 = Date.now();
  const result = await p.then(
    (value) => ({ value, error: undefined as Error | undefined }),
    (error: Error) => ({ value: undefined, error }),
  );
  return { ...result, ms: Date.now() - t0 };
};

describe.runIf(ok)('reef agent: verified TLS to the controller, trust pinned by reef.ca=', () => {
  let genuine: TestPki;
  let other: TestPki;
  let dir: string;
  let controller: Awaited<ReturnType<typeof startController>>;
  let impostor: Awaited<ReturnType<typeof startController>>;
  const cmdline = (text: string) => {
    const file = join(dir, `cmdline-${randomBytes(4).toString('hex')}`);
    writeFileSync(file, `BOOT_IMAGE=/vmlinuz quiet ${text}\n`);
    return file;
  };
  const bootWords = (url: string, pin: string) => `reef.controller=${url} reef.job=${JOB} reef.token=${TOKEN} reef.ca=${pin}`;

  beforeAll(async () => {
    genuine = makeTestPki('reef site CA');
    other = makeTestPki('some other CA');
    dir = mkdtempSync(join(tmpdir(), 'reef-agent-tls-'));
    controller = await startController(genuine, genuine.caPem);
    // Presents a certificate of another CA but serves the genuine CA at /ca.crt (it is public): only TLS verification can catch it.
    impostor = await startController(other, genuine.caPem);
  });
  afterAll(async () => {
    await controller?.close();
    await impostor?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fetches its task and reports events over TLS verified against the pinned CA', async () => {
    // The pin as the boot script writes it.
    const task = await findTask({ cmdlineFile: cmdline(bootWords(controller.url, genuine.fingerprint)) });
    expect(controller.seen.requests.slice(0, 2)).toEqual(['GET /ca.crt', `GET /api/v1/jobs/${JOB}/task`]);
    expect(task.jobId).toBe(JOB);
    expect(task.ca).toBe(genuine.caPem);
    expect(task.caFingerprint).toBe(genuine.fingerprint);
    expect(task.insecureRegistries).toEqual([]);

    const reporter = createReporter({ callbackUrl: task.callbackUrl, token: task.token, ca: task.ca, log: () => {} });
    await reporter.send({ step: 'partition', message: 'partition: started' });
    await reporter.flush();
    expect(task.callbackUrl).toBe(`${controller.url}/api/v1/jobs/${JOB}/events`);
    expect(controller.seen.events).toEqual([expect.objectContaining({ step: 'partition', message: 'partition: started', delivery_id: expect.any(String) })]);
    expect(controller.seen.auth.at(-1)).toBe(`Bearer ${TOKEN}`);
  });

  it('takes the pin as openssl prints it (upper case, colons)', async () => {
    const task = await findTask({ cmdlineFile: cmdline(bootWords(controller.url, `sha256:${genuine.opensslFingerprint}`)) });
    expect(task.ca).toBe(genuine.caPem);
  });

  it('refuses a controller whose certificate the pinned CA did not sign: a clear message, at once, no retry', async () => {
    const before = impostor.seen.connections;
    const fetched = await timed(findTask({ cmdlineFile: cmdline(bootWords(impostor.url, genuine.fingerprint)) }));
    expect(fetched.error?.message).toBe(
      `cannot trust the controller at ${impostor.url}/api/v1/jobs/${JOB}/task: its certificate is not signed by the pinned CA ${genuine.fingerprint} (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
    );
    expect(fetched.ms).toBeLessThan(FAST_MS);
    // One connection for /ca.crt (unverified, then checked against the pin), one refused for the task: no retry loop.
    expect(impostor.seen.connections - before).toBe(2);
    expect(impostor.seen.requests).toEqual(['GET /ca.crt']);

    const reporter = createReporter({ callbackUrl: `${impostor.url}/api/v1/jobs/${JOB}/events`, token: TOKEN, ca: genuine.caPem, log: () => {}, backoffMs: 1000 });
    const sent = await timed(reporter.send({ step: 'partition', status: 'failed', failed_step: 'partition', reason: 'x' }));
    expect(sent.error?.message).toBe(
      `cannot trust the controller at ${impostor.url}/api/v1/jobs/${JOB}/events: its certificate is not signed by the pinned CA ${genuine.fingerprint} (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
    );
    expect(sent.ms).toBeLessThan(FAST_MS);
    // Every later report fails the same way without another connection.
    const connections = impostor.seen.connections;
    await expect(reporter.send({ step: 'partition', message: 'again' })).rejects.toThrow(/not signed by the pinned CA/);
    expect(impostor.seen.connections).toBe(connections);
    expect(impostor.seen.events).toEqual([]);
  });

  it('refuses a controller whose /ca.crt is not the pinned CA', async () => {
    const fetched = await timed(findTask({ cmdlineFile: cmdline(bootWords(controller.url, other.fingerprint)) }));
    expect(fetched.error?.message).toBe(
      `the controller's CA at ${controller.url}/ca.crt is ${genuine.fingerprint}, not the one pinned on the kernel command line (reef.ca=${other.fingerprint})`,
    );
    expect(fetched.ms).toBeLessThan(FAST_MS);
  });

  it('refuses a /ca.crt that brings a second CA along under another PEM label, even though its first certificate matches the pin', async () => {
    // Node's `ca` option would also trust a TRUSTED CERTIFICATE block: the attacker's CA riding in behind the genuine one.
    const body = other.caPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '-----$1 TRUSTED CERTIFICATE-----');
    const doctored = await startController(other, `${genuine.caPem}${body}`);
    try {
      const fetched = await timed(findTask({ cmdlineFile: cmdline(bootWords(doctored.url, genuine.fingerprint)) }));
      expect(fetched.error?.message).toMatch(/holds 2 PEM blocks \(CERTIFICATE, TRUSTED CERTIFICATE\); expected exactly one CERTIFICATE/);
      expect(doctored.seen.requests).toEqual(['GET /ca.crt']);
    } finally {
      await doctored.close();
    }
  });

  it('refuses to talk to a plain-HTTP controller when the command line pins a CA', async () => {
    const fetched = await timed(findTask({ cmdlineFile: cmdline(bootWords('http://127.0.0.1:9', genuine.fingerprint)) }));
    expect(fetched.error?.message).toBe(`the kernel command line pins a controller CA (reef.ca=${genuine.fingerprint}) but the controller http://127.0.0.1:9 is not reached over HTTPS; refusing to talk to it unverified`);
  });

  it('refuses a task ISO whose ca.crt is not the pinned CA, and takes one that is', async () => {
    const iso = join(dir, 'task.iso');
    writeFileSync(iso, buildTaskIso({ job: queuedJob(linuxRecipe(), JOB), token: TOKEN, controllerUrl: controller.url, caPem: other.caPem }));
    const pinned = cmdline(`reef.ca=${genuine.fingerprint}`);
    await expect(findTask({ task: iso, cmdlineFile: pinned })).rejects.toThrow(
      `the task ISO's CA ${other.fingerprint} is not the one pinned on the kernel command line (reef.ca=${genuine.fingerprint})`,
    );
    const task = await findTask({ task: iso, cmdlineFile: cmdline(`reef.ca=${other.fingerprint}`) });
    expect(task.ca).toBe(other.caPem);
    // No pin: the task ISO's CA is the anchor (it came with the task).
    expect((await findTask({ task: iso, cmdlineFile: join(dir, 'no-such-cmdline') })).ca).toBe(other.caPem);

    // As the operator sees it: `reef agent` stops before doing anything, with the reason.
    const agent = runReef(['agent', '--task', iso, '--cmdline', pinned, '--print-target'], {});
    expect(await agent.exited).toBe(1);
    expect(agent.output()).toContain(`reef agent: the task ISO's CA ${other.fingerprint} is not the one pinned on the kernel command line (reef.ca=${genuine.fingerprint})`);
  });

  it('refuses a reef.ca= that is no SHA-256 fingerprint', async () => {
    await expect(findTask({ task: join(dir, 'x'), cmdlineFile: cmdline('reef.ca=md5:1234') })).rejects.toThrow(
      'reef.ca=md5:1234 on the kernel command line is not a SHA-256 fingerprint (expected sha256:<64 hex digits>)',
    );
  });

  describe("pulls from the controller's registry over HTTPS with the pinned CA", () => {
    let reef: TestReef;
    let front: Awaited<ReturnType<typeof startTlsFront>>;
    let wrongFront: Awaited<ReturnType<typeof startTlsFront>>;
    const artifact = randomBytes(3 * 1024 * 1024 + 5);
    beforeAll(async () => {
      reef = await startTestReef();
      const file = join(dir, 'rootfs.tar');
      writeFileSync(file, artifact);
      await pushArtifact(createOciClient({ registry: reef.url.replace(/^http:\/\//, '') }), 'tls/rootfs', 'v1', file, undefined);
      const port = Number(new URL(reef.url).port);
      front = await startTlsFront(genuine, port);
      wrongFront = await startTlsFront(other, port);
    });
    afterAll(async () => {
      await front?.close();
      await wrongFront?.close();
      await reef?.stop();
    });

    /** The context of an agent whose task came from a controller at https://<host> (its registry too, loopback or not). */
    const agentContext = (host: string): AgentContext => {
      const files = taskIsoFiles({ job: queuedJob(linuxRecipe(`${host}/tls/rootfs:v1`), JOB), token: TOKEN, controllerUrl: `https://${host}`, caPem: genuine.caPem });
      const text = (name: string) => Buffer.from(files.find((f) => f.name === name)!.data).toString('utf8');
      const task: Task = {
        recipe: JSON.parse(text('recipe.json')),
        jobId: JOB,
        controllerUrl: `https://${host}`,
        callbackUrl: null,
        token: TOKEN,
        insecureRegistries: JSON.parse(text('task.json')).insecure_registries,
        ca: text('ca.crt'),
        caFingerprint: genuine.fingerprint,
        userData: null,
        metaData: null,
        unattendXml: null,
        source: 'test',
      };
      return { task, reporter: createReporter({ callbackUrl: null, token: null, log: () => {} }), retries: 8 } as unknown as AgentContext;
    };

    it("the agent's registry client pulls a blob over verified HTTPS, not as an insecure registry", async () => {
      const ctx = agentContext(front.host);
      expect(ctx.task.insecureRegistries).toEqual([]);
      const { client, repo, layer } = await resolveArtifact(ctx, []);
      const out = join(dir, 'pulled');
      await client.pullToFile(repo, layer.digest, layer.size, out);
      expect(readFileSync(out).equals(artifact)).toBe(true);
      // Everything went through the TLS front (a plain-HTTP request there would have failed).
      expect(front.seen.connections).toBeGreaterThan(0);
    });

    it('refuses a registry whose certificate the pinned CA did not sign, without retrying', async () => {
      const pulled = await timed(resolveArtifact(agentContext(wrongFront.host), []));
      expect(pulled.error?.message).toBe(
        `cannot trust the registry at https://${wrongFront.host}: its certificate is not signed by the pinned CA ${genuine.fingerprint} (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
      );
      expect(pulled.ms).toBeLessThan(FAST_MS);
      expect(wrongFront.seen.connections).toBe(1);
    });

    it('the registry client alone: a CA given means HTTPS even on loopback, verified against that CA', async () => {
      const client = createOciClient({ registry: front.host, ca: genuine.caPem, retries: 2 });
      const chunks: Buffer[] = [];
      const { layer } = await resolveArtifact(agentContext(front.host), []);
      for await (const c of client.blobChunks('tls/rootfs', layer.digest, layer.size)) chunks.push(c);
      expect(Buffer.concat(chunks).equals(artifact)).toBe(true);
    });
  });
});
