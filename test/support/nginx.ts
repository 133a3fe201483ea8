import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  return startNginx(
    (port) => `
  access_log off;
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
`,
  );
}

/** Where deploy/nginx.conf expects the gateways; the load balancer's test swaps in real ports. */
const DEPLOY_UPSTREAM = /server 127\.0\.0\.1:400[1-3] /g;

/**
 * A real nginx running deploy/nginx.conf itself in front of `gatewayPorts` (as many as the example
 * has servers), listening on loopback instead of port 80 and logging into its own folder. Each
 * answer carries `X-Upstream`, the address of the process that answered: test-only, so a test can
 * tell where round robin sent a request.
 */
export async function startNginxLoadBalancer(gatewayPorts: number[]): Promise<Nginx & { accessLog: string }> {
  const example = await readFile(path.join(__dirname, '..', '..', 'deploy', 'nginx.conf'), 'utf8');
  const upstreams = example.match(DEPLOY_UPSTREAM) ?? [];
  if (upstreams.length !== gatewayPorts.length) {
    throw new Error(`deploy/nginx.conf has ${upstreams.length} gateway servers, not ${gatewayPorts.length}`);
  }
  let next = 0;
  let accessLog = '';
  const nginx = await startNginx((port, prefix) => {
    accessLog = path.join(prefix, 'logs', 'portcullis.access.log');
    return replaceOrFail(
      replaceOrFail(
        example.replace(DEPLOY_UPSTREAM, () => `server 127.0.0.1:${gatewayPorts[next++]} `),
        /^ {4}listen 80;$/m,
        `    listen 127.0.0.1:${port};\n    add_header X-Upstream $upstream_addr always;`,
      ),
      /\/var\/log\/nginx\//g,
      `${path.join(prefix, 'logs')}/`,
    );
  });
  return { ...nginx, accessLog };
}

/** Replaces what `pattern` matches (every match with the g flag); fails when nothing does. */
function replaceOrFail(text: string, pattern: RegExp, replacement: string): string {
  if (!pattern.test(text)) throw new Error(`deploy/nginx.conf no longer matches ${String(pattern)}`);
  return text.replace(pattern, replacement);
}

/** nginx in the foreground in a folder of its own, with `http` holding what `httpBlock` returns. */
async function startNginx(httpBlock: (port: number, prefix: string) => string): Promise<Nginx> {
  if (!existsSync(NGINX_BIN)) throw new Error(`${NGINX_BIN} not found: install Debian's nginx (as .ci/run does)`);
  const prefix = await mkdtemp(path.join(tmpdir(), 'portcullis-nginx-'));
  await mkdir(path.join(prefix, 'logs'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((name) => `${name}_temp_path ${path.join(prefix, name)};`)
    .join('\n  ');
  const config = `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 64; }
http {
  ${temp}
${httpBlock(port, prefix)}
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
