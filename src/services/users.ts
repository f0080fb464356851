// The `users` tag: registration, the caller's own record, results and
// claims, and the administrators' view of all users.
import type { Prisma } from '../../generated/prisma/client.js';
import type { Input, Output, Schemas } from '../api-types.js';
import { requireCaller, requireUser, userRef } from '../auth/caller.js';
import type { Database } from '../db/client.js';
import { writeOrExplain } from '../db/prisma-errors.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors.js';
import { listPage } from '../lists/pages.js';
import { containsLiteral, termsWhere } from '../lists/search.js';
import { columnOrder } from '../lists/sorting.js';
import type { Notifier } from '../notifications/index.js';
import type { ClaimWorkflow } from '../results/claims.js';
import { listCriteria } from '../results/criteria.js';
import type { ResultPages } from '../results/result-pages.js';
import { toUser } from '../views.js';
import type { RunLists } from '../runs/run-lists.js';

const SORT_FIELDS = ['sub', 'iss', 'email', 'registration_datetime'] as const;

function userOrder(sortBy: string | undefined): Prisma.UserOrderByWithRelationInput[] {
  // (sub, iss) is the key: both break ties, so pages are stable.
  return [...columnOrder(sortBy, '+iss,+sub', SORT_FIELDS, 'sub'), { iss: 'asc' }];
}

/** Exact-match filters shared by ListUsers and RemoveUsers. */
function userFilters(query: { sub?: string; iss?: string; email?: string }): Prisma.UserWhereInput {
  return {
    ...(query.sub !== undefined ? { sub: query.sub } : {}),
    ...(query.iss !== undefined ? { iss: query.iss } : {}),
    ...(query.email !== undefined ? { email: query.email } : {}),
  };
}

export class UsersService {
  constructor(
    private readonly db: Database,
    private readonly notifier: Notifier,
    private readonly results: ResultPages,
    private readonly claims: ClaimWorkflow,
    private readonly runs: RunLists,
  ) {}

  listUserResults({ query, caller }: Input<'ListUserResults'>): Promise<Output<'ListUserResults'>> {
    const { user } = requireUser(caller);
    // The caller's own results, claimed (hidden) ones included.
    return this.results.list({ ...listCriteria(query), includeHidden: true, uploader: user }, query);
  }

  listUserRuns({ query, caller }: Input<'ListUserRuns'>): Promise<Schemas['Runs']> {
    const { user } = requireUser(caller);
    return this.runs.list(query, user);
  }

  listUserClaims({ query, caller }: Input<'ListUserClaims'>): Promise<Schemas['Claims']> {
    const { user } = requireUser(caller);
    return this.claims.list(query, { uploader_sub: user.sub, uploader_iss: user.iss });
  }

  listUsers({ query }: Input<'ListUsers'>): Promise<Schemas['Users']> {
    return listPage(this.db.prisma.user, query, { where: userFilters(query), orderBy: userOrder(query.sort_by) }, toUser);
  }

  searchUsers({ query }: Input<'SearchUsers'>): Promise<Schemas['Users']> {
    const where: Prisma.UserWhereInput = termsWhere(query.terms, (term) => [{ email: containsLiteral(term) }]);
    return listPage(this.db.prisma.user, query, { where, orderBy: userOrder(query.sort_by) }, toUser);
  }

  async registerSelf({ caller }: Input<'RegisterSelf'>): Promise<Schemas['User']> {
    const { identity } = requireCaller(caller);
    if (!identity.email) {
      throw new UnprocessableError(
        'No email address was found in your token or at your identity provider; allow the email scope and try again',
      );
    }
    const email = identity.email;
    const row = await writeOrExplain(() => this.db.prisma.user.create({ data: { sub: identity.sub, iss: identity.iss, email } }), {
      duplicate: () => new ConflictError('You are already registered'),
    });
    this.notifier.notify({ type: 'user_registered', user: userRef(row) });
    return toUser(row);
  }

  async getSelf({ caller }: Input<'GetSelf'>): Promise<Schemas['User']> {
    const { identity } = requireCaller(caller);
    const row = await this.db.prisma.user.findUnique({
      where: { sub_iss: { sub: identity.sub, iss: identity.iss } },
    });
    if (!row) throw new NotFoundError('User', `${identity.sub}@${identity.iss} (not registered)`);
    return toUser(row);
  }

  async updateSelf({ caller }: Input<'UpdateSelf'>): Promise<void> {
    const { identity, user } = requireUser(caller);
    if (!identity.email) {
      throw new UnprocessableError('No email address was found in your token or at your identity provider');
    }
    if (identity.emailVerified !== true) {
      throw new UnprocessableError('Your identity provider does not say that this email address is verified');
    }
    const row = await this.db.prisma.user.update({
      where: { sub_iss: { sub: user.sub, iss: user.iss } },
      data: { email: identity.email },
    });
    if (row.email !== user.email) this.notifier.notify({ type: 'email_updated', user: userRef(row) });
  }

  async tryAdmin(): Promise<void> {
    // The security requirement (admin) already decided; reaching here is the answer.
  }

  async removeUsers({ query }: Input<'RemoveUsers'>): Promise<void> {
    const where = userFilters(query);
    if (Object.keys(where).length === 0) {
      throw new UnprocessableError('Name the users to remove with at least one of sub, iss or email', {
        query: 'at least one of sub, iss, email is required',
      });
    }
    // Foreign keys cascade: what they uploaded goes with them, in one statement.
    await this.db.prisma.user.deleteMany({ where });
  }
}
