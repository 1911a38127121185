/**
 * A plain HTTP server for the maintenance OS files (vmlinuz, initrd.img, filesystem.squashfs) at
 * /media/maintenance/<name>, run inside the e2e test's namespace:
 *   node --import tsx test/e2e/file-server.ts <dir> <host> <port>
 * TODO(lead: REEF_BOOT_DIR): reef serves these itself once REEF_BOOT_DIR lands; then this goes.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const [dir, host, port] = process.argv.slice(2);
if (!dir || !host || !port) throw new Error('usage: file-server.ts <dir> <host> <port>');
const NAMES = new Set(['vmlinuz', 'initrd.img', 'filesystem.squashfs']);

createServer((req, res) => {
  const name = /^\/media\/maintenance\/([^/?]+)/.exec(req.url ?? '')?.[1];
  if (!name || !NAMES.has(name) || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404).end();
    return;
  }
  const file = join(dir, name);
  res.writeHead(200, { 'Content-Length': statSync(file).size, 'Content-Type': 'application/octet-stream' });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
  console.log(`${new Date().toISOString()} ${req.socket.remoteAddress} ${req.method} ${req.url}`);
}).listen(Number(port), host, () => console.log(`file server on http://${host}:${port}/media/maintenance/ from ${dir}`));
