// A stand-in for Vultr's metadata service, run inside a lab network namespace at
// 169.254.169.254:80. It serves what cloud-init 26's Vultr datasource and vultr-sid-ipv6 read:
// "/" (cloud-init's reachability probe) and /v1.json, re-read from FILE on every request so a
// test can change the metadata between boots. Each request is appended to LOG as a JSON line.
// With --files DIR it also serves DIR/NAME as /lab/NAME: what first-boot user-data fetches in a
// lab that has no registry (a container image for `docker import URL`), as a real VM's
// user-data would pull from the internet; and it takes a PUT of /lab/NAME (any query, as a
// presigned URL has one) into DIR/NAME, as object storage takes the install report an
// IPv6-only VM sends (src/vm/report-user-data.ts).
//
// usage: node metadata-server.js [--files DIR] ADDRESS PORT FILE [LOG]
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseScriptArgs, scriptCommand } from '../script-cli.js';

const command = scriptCommand('metadata-server', "Serve Vultr's metadata (/ and /v1.json from FILE) at ADDRESS:PORT, for the lab.")
  .option('--files <dir>', 'also serve DIR/NAME as /lab/NAME, and take a PUT of /lab/NAME into it')
  .argument('<address>', 'address to listen on, e.g. 169.254.169.254')
  .argument('<port>', 'port, e.g. 80')
  .argument('<file>', 'the v1.json to serve, read again for every request')
  .argument('[log]', 'append one JSON line per request to LOG');
const [address, port, file, log] = parseScriptArgs(command).processedArgs;
const files = command.opts().files;

const server = createServer((request, response) => {
  if (log) {
    const entry = { at: new Date().toISOString(), path: request.url, token: request.headers['metadata-token'], agent: request.headers['user-agent'] };
    appendFileSync(log, `${JSON.stringify(entry)}\n`);
  }
  const reply = (body: string | Buffer, type: string) => {
    response.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
  };
  const served = files && /^\/lab\/([\w.-]+)(?:\?.*)?$/.exec(request.url ?? '')?.[1];
  if (served && request.method === 'PUT') {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      writeFileSync(join(files, `.${served}.part`), Buffer.concat(chunks));
      renameSync(join(files, `.${served}.part`), join(files, served));
      response.writeHead(200, { 'Content-Length': 0 });
      response.end();
    });
    return;
  }
  if (request.url === '/') reply('v1\nv1.json\n', 'text/plain');
  else if (request.url === '/v1.json') reply(readFileSync(file), 'application/json');
  else if (served && existsSync(join(files, served))) reply(readFileSync(join(files, served)), 'application/octet-stream');
  else {
    response.writeHead(404);
    response.end();
  }
});
server.listen(Number(port), address, () => console.log(`metadata service on ${address}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
