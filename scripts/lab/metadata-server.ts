// A stand-in for Vultr's metadata service, run inside a lab network namespace at
// 169.254.169.254:80. It serves what cloud-init 26's Vultr datasource and vultr-sid-ipv6 read:
// "/" (cloud-init's reachability probe) and /v1.json, re-read from FILE on every request so a
// test can change the metadata between boots. Each request is appended to LOG as a JSON line.
//
// usage: node metadata-server.js ADDRESS PORT FILE [LOG]
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [address, port, file, log] = process.argv.slice(2);
if (!address || !port || !file) {
  console.error('usage: metadata-server.js ADDRESS PORT FILE [LOG]');
  process.exit(2);
}

const server = createServer((request, response) => {
  if (log) {
    const entry = { at: new Date().toISOString(), path: request.url, token: request.headers['metadata-token'], agent: request.headers['user-agent'] };
    appendFileSync(log, `${JSON.stringify(entry)}\n`);
  }
  const reply = (body: string | Buffer, type: string) => {
    response.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
  };
  if (request.url === '/') reply('v1\nv1.json\n', 'text/plain');
  else if (request.url === '/v1.json') reply(readFileSync(file), 'application/json');
  else {
    response.writeHead(404);
    response.end();
  }
});
server.listen(Number(port), address, () => console.log(`metadata service on ${address}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
