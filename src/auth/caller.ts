// Who is calling: set on the request by the security handler, handed to
// service methods. Services read it; they never parse tokens themselves.
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
