import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './spawn-gateway';

/** Debian's nginx; .ci/run installs it when missing. */
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export type Nginx = { url: string; stop(): Promise<void> };

/**
 * A real nginx on loopback in front of `upstreamUrl`, asking the gateway's /auth/check (with the
 * given X-Resource) before passing any request on, and forwarding the identity it answers.
 */
export async function startNginxForwardAuth(gatewayUrl: string, upstreamUrl: string, resource: string): Promise<Nginx> {
  if (!existsSync(NGINX_BIN)) throw new Error(`${NGINX_BIN} not found: install Debian's nginx (as .ci/run does)`);
  const prefix = await mkdtemp(path.join(tmpdir(), 'portcullis-nginx-'));
  await mkdir(path.join(prefix, 'logs'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `${name}_temp_path ${path.join(prefix, name)};`)
    .join('\n    ');
  const config = `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  ${temp}
  server {
    listen 127.0.0.1:${port};
    location = /_portcullis_auth {
      internal;
      proxy_pass ${gatewayUrl}/auth/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Authorization $http_authorization;
      proxy_set_header X-Resource "${resource}";
      proxy_set_header X-Access-Level READ;
    }
    location / {
      auth_request /_portcullis_auth;
      auth_request_set $portcullis_user $upstream_http_x_user_id;
      auth_request_set $portcullis_org $upstream_http_x_org_id;
      proxy_set_header X-User-Id $portcullis_user;
      proxy_set_header X-Org-Id $portcullis_org;
      proxy_pass ${upstreamUrl};
    }
  }
}
`;
  const configFile = path.join(prefix, 'nginx.conf');
  await writeFile(configFile, config);
  const child: ChildProcess = spawn(NGINX_BIN, ['-p', prefix, '-c', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    try {
      await fetch(url);
      break;
    } catch {
      if (attempt > 100) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    async stop() {
      child.kill('SIGQUIT');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
