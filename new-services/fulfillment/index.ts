import { poolFromEnvironment } from '../common/database.js';
import { createFulfillmentHandler } from './handler.js';

export const handler = createFulfillmentHandler(poolFromEnvironment());
