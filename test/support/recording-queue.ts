import type { FulfillmentMessage, FulfillmentQueue } from '../../new-services/fulfillment/messages.js';

/** A fulfillment queue that keeps what it is sent, so a test can deliver it when it chooses. */
export class RecordingQueue implements FulfillmentQueue {
  readonly sent: FulfillmentMessage[] = [];

  async send(message: FulfillmentMessage): Promise<void> {
    this.sent.push(message);
  }

  take(): FulfillmentMessage[] {
    return this.sent.splice(0);
  }
}
