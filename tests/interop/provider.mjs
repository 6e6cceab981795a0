// A certified OpenID provider (panva/oidc-provider) on loopback, for vouch's interoperability
// tests (tests/e2e/interop_oidc_provider.rs). Test-only: in-memory storage, any login accepted.
//
//   node provider.mjs [PORT] [--exit-on-stdin-close]
//
// PORT (argv, else $INTEROP_PORT, else 0 = an ephemeral port) is bound on 127.0.0.1. The first
// line on stdout is the issuer URL, printed once the provider answers; nothing else goes to
// stdout. stderr gets one line per provider event, to explain a failing test. With
// --exit-on-stdin-close the process exits when its stdin reaches EOF, so it cannot outlive a
// test process that dies without killing it.
//
// Apart from what is configured below, oidc-provider's defaults are in force on purpose: they
// are what its certification covers. Notably the default revokeGrantPolicy (revoking a refresh
// token revokes its whole grant) and loadExistingGrant (a new authorization in the same browser
// session reuses the session's grant).
//
// Clients:
//   vouch-cli  public native app: device flow and authorization code (+ refresh_token); PKCE is
//              required; redirect http://127.0.0.1/callback matches any loopback port
//              (RFC 8252 §7.3: oidc-provider ignores the port of loopback redirect URIs of
//              native clients).
//   vouch-ci   confidential: client_credentials with client_secret_basic; its secret has
//              characters that RFC 6749 §2.3.1 requires to be form-urlencoded before Basic.
//              It may also call introspection, which the tests use to see what the provider
//              holds.
// DPoP (RFC 9449) is on, and optional: a client that sends a proof gets DPoP-bound tokens (and,
// being public, a refresh token bound to the same key); one that sends none still gets Bearer
// tokens. Proofs must carry a server nonce (a fresh secret per run), so vouch's nonce handling
// meets a real provider: the first proof of each endpoint is answered use_dpop_nonce.
// Users: devInteractions' login form accepts any login name and password; the account's sub
// is the login name, and userinfo says preferred_username = sub.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const CLI_CLIENT_ID = 'vouch-cli';
const CI_CLIENT_ID = 'vouch-ci';
const CI_CLIENT_SECRET = 'interop-ci-secret:+/%&= ~';

const args = process.argv.slice(2);
const exitOnStdinClose = args.includes('--exit-on-stdin-close');
const portArg = args.find((a) => /^\d+$/.test(a)) ?? process.env.INTEROP_PORT ?? '0';

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(portArg), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

// A fresh signing key per run (no checked-in key, no "dev keys" warning).
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'interop', use: 'sig', alg: 'ES256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLI_CLIENT_ID,
      client_name: 'vouch (interop test)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    {
      client_id: CI_CLIENT_ID,
      client_secret: CI_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [signingKey] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  cookies: { keys: ['interop-test-cookie-key'] },
  findAccount: (_ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, preferred_username: sub }),
  }),
  claims: { openid: ['sub', 'preferred_username'] },
  scopes: ['openid', 'offline_access'],
  features: {
    devInteractions: { enabled: true }, // GET /interaction/UID renders plain HTML forms
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    userinfo: { enabled: true },
    // Option names as oidc-provider 9 spells them (dPoP, not dpop). Enabled by default in 9,
    // spelled out here. requireNonce applies only to requests that carry a proof.
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
  },
  pkce: { required: () => true }, // for every client and flow, not only public clients
  // offline_access yields a refresh token (the default, spelled out). Where oidc-provider keeps
  // offline_access is its own, spec-following rule (lib/actions/authorization/scopes.js): at
  // the authorization endpoint only with prompt=consent (OpenID Connect Core §11); in the device
  // flow, which has no prompt, always. Its consent prompt then asks for it, and devInteractions'
  // consent form grants it.
  issueRefreshToken: async (_ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: true,
  ttl: { AccessToken: 600, IdToken: 600, DeviceCode: 120, Interaction: 300, Grant: 3600, Session: 3600 },
});

for (const event of [
  'grant.success',
  'grant.error',
  'grant.revoked',
  'authorization.accepted',
  'authorization.success',
  'authorization.error',
  'interaction.started',
  'interaction.ended',
  'revocation.error',
  'userinfo.error',
  'introspection.error',
  'server_error',
]) {
  provider.on(event, (ctx, detail) => {
    const client = ctx?.oidc?.client?.clientId;
    let what = detail ?? '';
    if (detail instanceof Error) what = `${detail.name}: ${detail.message} ${detail.error_detail ?? ''}`;
    else if (typeof detail === 'object') what = detail.name ?? ''; // interaction.started: the prompt
    const grant = ctx?.oidc?.entities?.Grant?.jti;
    const grantType = ctx?.oidc?.route === 'token' ? ctx.oidc.params?.grant_type : undefined;
    const line = `${event} route=${ctx?.oidc?.route ?? '-'} client=${client ?? '-'}`
      + `${grantType ? ` grant_type=${grantType}` : ''}${grant ? ` grant=${grant}` : ''} ${what}`;
    process.stderr.write(`${line.replace(/\s+/g, ' ').trim()}\n`);
  });
}

// Every test run starts its own provider, often on a port an earlier one used; vouch caches
// provider metadata per issuer (for what Cache-Control allows, else 24 h), so say it is not to
// be kept, as the fake provider does.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path.startsWith('/.well-known/')) ctx.set('Cache-Control', 'no-store');
});
server.on('request', provider.callback());
process.stdout.write(`${issuer}\n`);

if (exitOnStdinClose) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
