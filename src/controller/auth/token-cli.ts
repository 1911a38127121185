import { parseArgs } from 'node:util';
import { DomainError } from '../../core/errors.js';
import { openDb } from '../../db/client.js';
import { tokenView } from './auth-routes.js';
import { createTokenService } from './token-service.js';
import { createSqliteTokenStore } from './token-store.sqlite.js';

const USAGE = 'usage: reef token create --name NAME --role viewer|operator|admin [--expires 90d] | reef token list | reef token revoke NAME';

/**
 * `reef token …` on the controller's box, against its data directory (REEF_DATA_DIR): works with
 * the server running (SQLite WAL) or stopped. The token is printed once, on stdout, alone, so
 * `TOKEN=$(reef token create …)` captures exactly it.
 */
export const tokenCommand = async (argv: string[], dataDir: string): Promise<void> => {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { name: { type: 'string' }, role: { type: 'string' }, expires: { type: 'string' }, json: { type: 'boolean' } },
  });
  const opened = openDb(dataDir);
  try {
    const tokens = createTokenService({ store: createSqliteTokenStore(opened.db), now: Date.now });
    switch (sub) {
      case 'create': {
        const { token, record } = tokens.create({ name: values.name, role: values.role, ...(values.expires ? { expires: values.expires } : {}) });
        process.stdout.write(`${token}\n`);
        process.stderr.write(`token ${record.name} (${record.role}${record.expiresAt ? `, expires ${new Date(record.expiresAt).toISOString()}` : ''}) made; it is shown only now\n`);
        return;
      }
      case 'list': {
        const items = tokens.list().map(tokenView);
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ items }, null, 2)}\n`);
          return;
        }
        const rows = [['NAME', 'ROLE', 'CREATED', 'EXPIRES', 'LAST USED'], ...items.map((t) => [t.name, t.role, t.created_at ?? '-', t.expires_at ?? 'never', t.last_used_at ?? 'never'])];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        process.stdout.write(rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n');
        return;
      }
      case 'revoke': {
        const name = positionals[0] ?? values.name;
        if (!name) throw new Error(USAGE);
        tokens.revoke(name);
        process.stdout.write(`token ${name} revoked\n`);
        return;
      }
      default:
        throw new Error(USAGE);
    }
  } catch (err) {
    if (err instanceof DomainError) {
      const detail = err.details.length ? err.details.map((d) => `--${d.path}: ${d.message}`).join('; ') : err.message;
      throw new Error(`reef token ${sub}: ${detail}`, { cause: err });
    }
    throw err;
  } finally {
    opened.close();
  }
};
