import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FulfillmentMessage, FulfillmentQueue } from './messages.js';

/** In AWS: the fulfillment SQS queue, which an event source mapping drains into the fulfillment function. */
export function sqsQueue(queueUrl: string, client = new SQSClient({})): FulfillmentQueue {
  return {
    async send(message: FulfillmentMessage) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
    },
  };
}
