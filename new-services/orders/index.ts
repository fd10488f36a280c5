import { sqsQueue } from '../fulfillment/sqs-queue.js';
import { poolFromEnvironment } from '../common/database.js';
import { createOrdersHandler } from './handler.js';

const queueUrl = process.env.FULFILLMENT_QUEUE_URL;
if (!queueUrl) throw new Error('FULFILLMENT_QUEUE_URL is not set: the orders function hands new orders to fulfillment through it');

export const handler = createOrdersHandler(poolFromEnvironment(), { queue: sqsQueue(queueUrl) });
