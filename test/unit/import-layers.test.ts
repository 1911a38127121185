import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The layer rule (scripts/import-layers.js, ARCHITECTURE.md) as `npm run lint` applies it: each
 * snippet is linted with the repository's own ESLint config as if it were the file named.
 */
const eslint = new ESLint();
const layerErrors = async (filePath: string, code: string): Promise<string[]> => {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'reef/layers').map((m) => m.message);
};

describe('import layers', () => {
  it('refuses the imports that tangled the server with the areas before the layout change', async () => {
    expect(await layerErrors('src/registry/meta/meta-x.ts', "import type { Db } from '../../controller/db/client.js';\nexport type X = Db;\n")).toEqual([
      'src/registry may import only src/registry, src/http, src/db, src/core, src/lib; not src/controller/db/client.js (ARCHITECTURE.md)',
    ]);
    expect(await layerErrors('src/maintenance-os/x.ts', "import { validateRecipe } from '../controller/recipes/recipe-service.js';\nexport const v = validateRecipe;\n")).toHaveLength(1);
    expect(await layerErrors('src/ignition/x.ts', "import { DomainError } from '../controller/errors.js';\nexport const e = DomainError;\n")).toHaveLength(1);
  });

  it('sees dynamic imports and re-exports too', async () => {
    expect(await layerErrors('src/registry/x.ts', "export const m = () => import('../controller/main.js');\n")).toHaveLength(1);
    expect(await layerErrors('src/recipes/x.ts', "export * from '../registry/core/names.js';\n")).toHaveLength(1);
  });

  it('keeps the agent and Ignition off the registry server internals, and core off HTTP and the database', async () => {
    expect(await layerErrors('src/ignition/prestage/x.ts', "import { createBlobStore } from '../../registry/storage/blob-store.fs.js';\nexport const s = createBlobStore;\n")).toHaveLength(1);
    expect(await layerErrors('src/maintenance-os/x.ts', "import { createGc } from '../registry/gc.js';\nexport const g = createGc;\n")).toHaveLength(1);
    expect(await layerErrors('src/core/x.ts', "import { sql } from 'drizzle-orm';\nexport const q = sql;\n")).toEqual(['src/core must not import drizzle-orm (ARCHITECTURE.md)']);
    expect(await layerErrors('src/recipes/x.ts', "import { Hono } from 'hono';\nexport const h = Hono;\n")).toHaveLength(1);
  });

  it('lets each area use what is below it', async () => {
    expect(await layerErrors('src/maintenance-os/x.ts', "import { validateRecipe } from '../recipes/validate-recipe.js';\nimport { createOciClient } from '../registry/client/oci-client.js';\nexport const a = [validateRecipe, createOciClient];\n")).toEqual([]);
    expect(await layerErrors('src/registry/http/x.ts', "import { sendFile } from '../../http/send-file.js';\nimport { RegistryError } from '../core/errors.js';\nexport const a = [sendFile, RegistryError];\n")).toEqual([]);
    expect(await layerErrors('src/controller/x.ts', "import { createEmbeddedRegistry } from '../registry/wire.js';\nexport const r = createEmbeddedRegistry;\n")).toEqual([]);
    // Pre-staging reads ImageSetConfigurations through the mirror core; the mirror core knows nothing of Ignition.
    expect(await layerErrors('src/ignition/prestage/x.ts', "import { parseImageSetConfiguration } from '../../mirror/imageset.js';\nexport const p = parseImageSetConfiguration;\n")).toEqual([]);
    expect(await layerErrors('src/mirror/x.ts', "import { parseImageSet } from '../ignition/prestage/imageset.js';\nexport const p = parseImageSet;\n")).toHaveLength(1);
  });

  it('asks a new top-level folder to state its layer', async () => {
    expect(await layerErrors('src/widgets/x.ts', "import { parseDuration } from '../core/durations.js';\nexport const p = parseDuration;\n")).toEqual([
      'src/widgets/x.ts is in no layer: add its folder to scripts/import-layers.js and ARCHITECTURE.md',
    ]);
  });
});
