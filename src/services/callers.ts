// Narrowing the caller for service methods. The security handler has already
// enforced the operation's role; these only turn that guarantee into types.
import type { Caller, RegisteredUser } from '../auth/caller.js';
import { UnauthorizedError } from '../errors.js';

export function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw new UnauthorizedError();
  return caller;
}

export function requireUser(caller: Caller | undefined): Caller & { user: RegisteredUser } {
  const known = requireCaller(caller);
  if (!known.user) throw new UnauthorizedError();
  return known as Caller & { user: RegisteredUser };
}

/** The caller as notifications name a person. */
export function userRef(user: RegisteredUser): { sub: string; iss: string; email: string } {
  return { sub: user.sub, iss: user.iss, email: user.email };
}
