import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** What every stand-in's server does to start, stop and read a request. */

/** Listens on 127.0.0.1 (never another interface) on a free port; returns the origin, e.g. https://127.0.0.1:41234. */
export async function listenOnLoopback(server: HttpServer | HttpsServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const protocol = server instanceof HttpsServer ? 'https' : 'http';
  return `${protocol}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops the server; open keep-alive connections are closed first, or close() would wait for them. */
export async function closeServer(server: HttpServer | HttpsServer | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The whole request body as text. */
export async function readRequestText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
