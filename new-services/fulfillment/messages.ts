import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';

export const SCAN_STATUSES = ['picked', 'shipped', 'delivered'] as const;
export type ScanStatus = typeof SCAN_STATUSES[number];

/**
 * What the fulfillment queue carries: orders to allocate (from the orders service) and
 * warehouse scans that move a shipment on (from the centers' handheld scanners).
 */
export type FulfillmentMessage =
  | { type: 'order-placed'; orderId: string }
  | { type: 'shipment-scanned'; shipmentId: string; status: ScanStatus };

/** Where the orders service puts fulfillment work: SQS in AWS, the local Lambda host on one machine. */
export interface FulfillmentQueue {
  send(message: FulfillmentMessage): Promise<void>;
}

export class UnreadableMessage extends Error {}

export function readMessage(body: string): FulfillmentMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new UnreadableMessage('the message body is not JSON');
  }
  const message = value as Partial<Record<string, unknown>>;
  if (message?.type === 'order-placed' && typeof message.orderId === 'string') return { type: 'order-placed', orderId: message.orderId };
  if (message?.type === 'shipment-scanned' && typeof message.shipmentId === 'string' && SCAN_STATUSES.includes(message.status as ScanStatus)) {
    return { type: 'shipment-scanned', shipmentId: message.shipmentId, status: message.status as ScanStatus };
  }
  throw new UnreadableMessage(`not a fulfillment message: ${body.slice(0, 200)}`);
}

/** The event an SQS event source mapping hands the function for these messages. */
export function sqsEvent(messages: Array<{ messageId?: string; message: FulfillmentMessage }>, queueArn = 'arn:aws:sqs:us-east-1:000000000000:pet-store-fulfillment'): SQSEvent {
  return {
    Records: messages.map(({ messageId = randomUUID(), message }) => {
      const sentAt = String(Date.now());
      return {
        messageId,
        receiptHandle: messageId,
        body: JSON.stringify(message),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: sentAt, SenderId: 'cutover-local', ApproximateFirstReceiveTimestamp: sentAt },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
      };
    }),
  };
}
