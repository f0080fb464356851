// E-mail notifications: services pass an event after their transaction has
// committed; the notifier composes, queues and sends (or logs) the messages.
export type { NotificationEvent, NotificationType, Recipient, ReviewableResource, UserRef } from './events.js';
export { messagesFor, type Message, type MessageContext } from './messages.js';
export {
  createNotifier,
  DEFAULT_CLOSE_TIMEOUT_MS,
  type Notifier,
  type NotifierLogger,
  type NotifierOptions,
} from './notifier.js';
