import type { EventEnvelope } from '@hosting/shared';

/**
 * The JSON text of a parsed event when it is exactly the text of what was sent (the batch parser's
 * cheap path keeps the sender's objects and records their text here), so the insert does not
 * serialize the batch a second time. Between the parser and the repository, so that neither
 * depends on the other.
 */
const serializedText = new WeakMap<EventEnvelope, string>();

export function rememberSerialized(event: EventEnvelope, text: string): void {
  serializedText.set(event, text);
}

export function serializedOf(event: EventEnvelope): string {
  return serializedText.get(event) ?? JSON.stringify(event);
}
