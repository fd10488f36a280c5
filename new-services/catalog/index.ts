import { poolFromEnvironment } from '../common/database.js';
import { createCatalogHandler } from './handler.js';

export const handler = createCatalogHandler(poolFromEnvironment());
