// The spec's security requirements, enforced: `bearerAuth: [token|user|admin]`
// (docs/CONTRACT.md §2). glue calls this for every secured operation; services never
// re-check roles, they only check ownership where an operation says so.
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, IssuerUnavailableError, ServiceUnavailableError } from '../errors.js';
import type { Caller, RegisteredUser } from './caller.js';
import type { Identity } from './oidc.js';

export type Role = 'token' | 'user' | 'admin';

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Identity>;
}

export interface SecurityOptions {
  authenticator: Authenticator;
  findUser: (sub: string, iss: string) => Promise<RegisteredUser | null>;
  adminEntitlements: readonly string[];
}

export function isAdmin(identity: Identity, adminEntitlements: readonly string[]): boolean {
  return identity.entitlements.some((entitlement) => adminEntitlements.includes(entitlement));
}

async function identify(authenticator: Authenticator, authorization: string | undefined): Promise<Identity> {
  try {
    return await authenticator.authenticate(authorization);
  } catch (error) {
    // The issuer could not be asked: not the client's fault, and retryable.
    if (error instanceof IssuerUnavailableError) {
      throw new ServiceUnavailableError('The identity provider could not be reached; try again later', { cause: error });
    }
    throw error;
  }
}

export function securityHandlers(options: SecurityOptions) {
  return {
    async bearerAuth(request: FastifyRequest, _reply: unknown, scopes: string[]): Promise<void> {
      const role = (scopes[0] ?? 'token') as Role;
      const identity = await identify(options.authenticator, request.headers.authorization);
      const caller: Caller = { identity, isAdmin: isAdmin(identity, options.adminEntitlements) };
      request.caller = caller;
      if (role === 'token') return;
      const user = await options.findUser(identity.sub, identity.iss);
      if (!user) throw new ForbiddenError('You are not registered: register first with POST /users:register');
      caller.user = user;
      if (role === 'admin' && !caller.isAdmin) throw new ForbiddenError('This operation is for administrators');
    },
  };
}
