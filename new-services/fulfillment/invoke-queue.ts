import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type FulfillmentMessage, type FulfillmentQueue, sqsEvent } from './messages.js';

/**
 * On one machine: each message is delivered as an SQS-shaped event through an asynchronous
 * (InvocationType Event) invocation of the fulfillment function on the local Lambda host, so the
 * function runs exactly the code the event source mapping runs in AWS. There is no redelivery
 * here; SQS's visibility timeout and dead-letter queue do that in AWS.
 */
export function invokeQueue(endpoint: URL, functionName = 'fulfillment'): FulfillmentQueue {
  const client = new LambdaClient({
    endpoint: endpoint.href,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return {
    async send(message: FulfillmentMessage) {
      const response = await client.send(new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(sqsEvent([{ message }]))),
      }));
      if (response.StatusCode !== 202) throw new Error(`the local Lambda host answered ${response.StatusCode} to an asynchronous invocation`);
    },
  };
}
