// What happened, with every value the e-mails need, so that a service hands
// over plain data after its transaction has committed and never waits for mail.

export type ReviewableResource = 'benchmark' | 'site' | 'flavor';

/** A registered user as the token named them. */
export interface UserRef {
  sub: string;
  iss: string;
  email: string;
}

/** Only the address is needed. */
export interface Recipient {
  email: string;
}

export type NotificationEvent =
  /** A user registered: a welcome to the user. */
  | { type: 'user_registered'; user: UserRef }
  /** A benchmark, site or flavor awaits review: to support. */
  | { type: 'resource_submitted'; resource: ReviewableResource; id: string; name: string; uploader: UserRef }
  /** An administrator approved it: to its uploader. */
  | { type: 'resource_approved'; resource: ReviewableResource; id: string; name: string; uploader: Recipient }
  /** An administrator rejected (and so removed) it: to its uploader. */
  | { type: 'resource_rejected'; resource: ReviewableResource; id: string; name: string; uploader: Recipient }
  /** A result was claimed (and hidden): to support and to the result's uploader. */
  | { type: 'result_claimed'; resultId: string; claimId: string; message: string; claimer: UserRef; uploader: Recipient }
  /** A claim was refused and the result is listed again: to the result's uploader. */
  | { type: 'result_restored'; resultId: string; uploader: Recipient }
  /** An administrator upheld a claim (the result stays hidden): to the claimer. */
  | { type: 'claim_approved'; claimId: string; resultId: string; claimer: Recipient }
  /** An administrator refused a claim (it was deleted): to the claimer. */
  | { type: 'claim_rejected'; claimId: string; resultId: string; claimer: Recipient }
  /** A user's e-mail address changed: to the new address. */
  | { type: 'email_updated'; user: UserRef }
  /** A run asked for completed and its result is stored: to the requester. */
  | { type: 'run_completed'; runId: string; resultId: string; benchmark: string; flavor: string; requester: Recipient }
  /** A run asked for failed (the runner's reason, its output refused, or its runner lost): to the requester. */
  | { type: 'run_failed'; runId: string; reason: string; benchmark: string; flavor: string; requester: Recipient };

export type NotificationType = NotificationEvent['type'];
