// Who is calling: set on the request by the security handler, handed to
// service methods. Services read it; they never parse tokens themselves.
// The security handler has already enforced the operation's role; the
// `require*` functions only turn that guarantee into types.
import { UnauthorizedError } from '../errors.js';
import type { Identity } from './oidc.js';

export interface RegisteredUser {
  sub: string;
  iss: string;
  email: string;
  registration_datetime: Date;
}

export interface Caller {
  identity: Identity;
  /** The registered user, when the operation needs one (roles user and admin). */
  user?: RegisteredUser;
  isAdmin: boolean;
}

export function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw new UnauthorizedError();
  return caller;
}

export function requireUser(caller: Caller | undefined): Caller & { user: RegisteredUser } {
  const known = requireCaller(caller);
  if (!known.user) throw new UnauthorizedError();
  return known as Caller & { user: RegisteredUser };
}

/** Whether the caller uploaded what `owner` names, or is an administrator. */
export function isOwnerOrAdmin(caller: Caller, owner: { uploader_sub: string; uploader_iss: string }): boolean {
  return caller.isAdmin || (caller.identity.sub === owner.uploader_sub && caller.identity.iss === owner.uploader_iss);
}

/** The caller as notifications name a person. */
export function userRef(user: RegisteredUser): { sub: string; iss: string; email: string } {
  return { sub: user.sub, iss: user.iss, email: user.email };
}
