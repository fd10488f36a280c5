import { poolFromEnvironment } from '../shared/database.js';
import { createFulfillmentHandler } from './handler.js';

export const handler = createFulfillmentHandler(poolFromEnvironment());
