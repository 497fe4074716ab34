import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { berth, buildImage, startService } from '../../support';

async function listen(t: TestContext, handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

test('the bearer-token challenge (Docker Hub, GHCR): a token for the scope, fetched with the credentials', { timeout: 60_000 }, async (t) => {
  const image = await buildImage({ os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
  const blobs = new Map<string, Buffer>([[image.configDigest, image.config], ...image.layers.map((l): [string, Buffer] => [l.digest, l.blob])]);
  const tokenRequests: Array<{ scope: string[]; service: string | null; authorization?: string }> = [];

  const auth = await listen(t, (request, response) => {
    const url = new URL(request.url!, 'http://auth');
    tokenRequests.push({ scope: url.searchParams.getAll('scope'), service: url.searchParams.get('service'), authorization: request.headers.authorization });
    if (request.headers.authorization !== `Basic ${Buffer.from('bob:pw').toString('base64')}`) return void response.writeHead(401).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'the-token', expires_in: 300 }));
  });
  const registry = await listen(t, (request, response) => {
    if (request.headers.authorization !== 'Bearer the-token') {
      const scope = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(request.url!)?.[1];
      response.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${auth}/token",service="test-registry"${scope ? `,scope="repository:${scope}:pull"` : ''}`,
        'content-type': 'application/json',
      });
      return void response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    }
    if (request.url === '/v2/') return void response.writeHead(200).end('{}');
    if (request.url === '/v2/team/app/manifests/1') {
      return void response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(image.manifest);
    }
    const blob = blobs.get(request.url!.replace('/v2/team/app/blobs/', ''));
    if (blob !== undefined) return void response.writeHead(200).end(blob);
    response.writeHead(404).end();
  });
  const store = await startService(t, 'image-store');

  const anonymous = await berth(['pull', `${registry}/team/app:1`], store.env);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /the credentials were refused/);

  const login = await berth(['login', '-u', 'bob', '-p', 'pw', registry], store.env);
  assert.equal(login.code, 0, login.stderr);
  const pulled = await berth(['pull', `${registry}/team/app:1`], store.env);
  assert.equal(pulled.code, 0, pulled.stderr);
  const inspected = JSON.parse((await berth(['image', 'inspect', `${registry}/team/app:1`], store.env)).stdout) as Array<{ summary: { id: string } }>;
  assert.equal(inspected[0]!.summary.id, image.configDigest);

  const withCredentials = tokenRequests.filter((r) => r.authorization !== undefined);
  assert.ok(withCredentials.some((r) => r.scope.includes('repository:team/app:pull')), 'the token names the repository scope');
  assert.ok(tokenRequests.every((r) => r.service === 'test-registry'), 'the service from the challenge is passed on');
  const tokensForThePull = tokenRequests.slice(tokenRequests.findIndex((r) => r.scope.includes('repository:team/app:pull') && r.authorization !== undefined));
  assert.equal(tokensForThePull.length, 1, 'one token serves the manifest and every blob of the pull');
});
