import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';

/** Where the overrides install the loader on the node. */
export const LOADER_PATH_ON_NODE = '/usr/local/bin/reef-load-images.sh';

/**
 * The loader script file. tsc does not copy .sh files to dist/, so it is found from the package
 * root (src/ignition/precache/load-images.sh) both under tsx and from the built dist/cli.js.
 */
export const loaderScriptFile = (): string => join(packageRoot(), 'src', 'ignition', 'precache', 'load-images.sh');

let cached: string | undefined;
/** The loader script's text (read once). */
export const readLoaderScript = (): string => (cached ??= readFileSync(loaderScriptFile(), 'utf8'));
