import { z } from 'zod';
import { jobCreateSchema, jobEventSchema, shoalWebhookSchema } from './jobs/job.schema.js';
import { machineInputSchema } from './machines/machine.schema.js';
import { recipeSchema } from '../recipes/recipe.schema.js';
import { isoCreateSchema } from './isos/iso-service.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' });
const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
    request_id: { type: 'string' },
  },
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const body = (name: string, yamlToo = false) => ({
  required: true,
  content: { 'application/json': { schema: ref(name) }, ...(yamlToo ? { 'application/yaml': { schema: ref(name) } } : {}) },
});
const errors = { '4XX': { description: 'Bad request; error.details name the fields', ...json('Error') } };
const op = (summary: string, extra: Record<string, unknown> = {}) => ({ summary, responses: { '200': { description: 'OK' }, ...errors }, ...extra });
const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const queryParam = (name: string, description: string) => ({ name, in: 'query', required: false, schema: { type: 'string' }, description });
const ignitionParams = {
  parameters: [
    queryParam('label', 'GPT partition name of the data partition (default data)'),
    queryParam('version', '3.1.0 (default) or 3.2.0'),
    queryParam('images_dir', 'mount point of the partition on the node (default /var/mnt)'),
    { ...queryParam('ssh_key', 'extra SSH public key for user core; repeatable'), schema: { type: 'array', items: { type: 'string' } }, explode: true },
  ],
};

/** The OpenAPI document of /api/v1, generated from the same zod schemas that validate requests. */
export const openApiDocument = (serverUrl: string) => ({
  openapi: '3.0.3',
  info: { title: 'reef controller API', version: '1' },
  servers: [{ url: serverUrl }],
  components: {
    schemas: {
      Recipe: schema(recipeSchema),
      NamedRecipe: { allOf: [ref('Recipe'), { type: 'object', properties: { name: { type: 'string' } } }] },
      Machine: schema(machineInputSchema),
      JobCreate: schema(jobCreateSchema),
      JobEvent: schema(jobEventSchema),
      IsoCreate: schema(isoCreateSchema),
      StatusWebhook: schema(shoalWebhookSchema),
      Error: errorSchema,
    },
    securitySchemes: {
      jobToken: { type: 'http', scheme: 'bearer', description: 'per-job token carried by the task ISO' },
      webhookSecret: { type: 'apiKey', in: 'header', name: 'X-Webhook-Secret' },
    },
  },
  paths: {
    '/api/v1/recipes': {
      get: op('List recipes'),
      post: op('Create a named recipe (name field or ?name=)', { parameters: [queryParam('name', 'recipe name when the body is a bare recipe')], requestBody: body('NamedRecipe', true) }),
    },
    '/api/v1/recipes/{name}': {
      parameters: [pathParam('name')],
      get: op('Get a recipe'),
      put: op('Create or replace a recipe', { requestBody: body('Recipe', true) }),
      delete: op('Delete a recipe'),
    },
    '/api/v1/machines': { get: op('List machines'), post: op('Register or update a machine', { requestBody: body('Machine', true) }) },
    '/api/v1/machines/{serial}': { parameters: [pathParam('serial')], get: op('Get a machine'), delete: op('Delete a machine') },
    '/api/v1/jobs': {
      get: op('List jobs, newest first', {
        parameters: [queryParam('status', 'queued|provisioning|succeeded|failed|canceled'), queryParam('serial', 'machine serial'), queryParam('limit', '1-500, default 50'), queryParam('cursor', 'next_cursor of the previous page')],
      }),
      post: { ...op('Create a job; builds its task ISO', { requestBody: body('JobCreate', true) }), responses: { '202': { description: 'Queued' }, ...errors } },
    },
    '/api/v1/jobs/{id}': { parameters: [pathParam('id')], get: op('Get a job with its latest 100 events and events_total') },
    '/api/v1/jobs/{id}/cancel': { parameters: [pathParam('id')], post: op('Cancel an active job') },
    '/api/v1/jobs/{id}/events': {
      parameters: [pathParam('id')],
      get: op('A page of the job\'s events, oldest first (?cursor=<next_cursor>&limit=1..1000, default 200)'),
      post: op('Maintenance OS callback: progress event or final status', { requestBody: body('JobEvent'), security: [{ jobToken: [] }] }),
    },
    '/api/v1/status-webhook/{serial}': {
      parameters: [pathParam('serial')],
      post: op('Shoal dispatcher webhook (compatibility)', { requestBody: body('StatusWebhook'), security: [{ webhookSecret: [] }] }),
    },
    '/media/tasks/{id}/task.iso': { parameters: [pathParam('id')], get: op('Task ISO (Range, If-Range)'), head: op('Task ISO headers') },
    '/api/v1/prestage/ignition/discovery': { get: op('Discovery Ignition override: pre-cached ai-images loaded before agent.service', ignitionParams) },
    '/api/v1/prestage/ignition/pointer': { get: op('Pointer Ignition override: pre-cached ocp-images loaded before installation', ignitionParams) },
    '/api/v1/prestage/ignition/assisted': { get: op('Assisted Service PATCH bodies (infra-env override, host ignition, installer-args)', ignitionParams) },
    '/api/v1/prestage/ignition/siteconfig': { get: op('SiteConfig and ClusterInstance snippets (YAML)', ignitionParams) },
    '/boot.ipxe': {
      get: op('iPXE script for a machine, or a sanboot of a generated live ISO', {
        parameters: [queryParam('serial', 'machine serial'), queryParam('mac', 'MAC address'), queryParam('iso', 'id of a generated live ISO (POST /api/v1/isos)')],
      }),
    },
    '/api/v1/isos/bases': { get: op('List uploaded base live ISOs') },
    '/api/v1/isos/bases/{name}': {
      parameters: [pathParam('name')],
      put: op('Upload (stream) a CoreOS live ISO as base {name}', { requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } }),
    },
    '/api/v1/isos': { post: { ...op('Generate a live ISO with an embedded Ignition config', { requestBody: body('IsoCreate') }), responses: { '201': { description: 'Created' }, ...errors } } },
    '/api/v1/isos/{id}': { parameters: [pathParam('id')], get: op('Get a generated ISO'), delete: op('Delete a generated ISO') },
    '/media/isos/{id}.iso': { parameters: [pathParam('id')], get: op('Generated live ISO (Range, If-Range)') },
  },
});
