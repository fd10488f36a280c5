import { poolFromEnvironment } from '../shared/database.js';
import { createCatalogHandler } from './handler.js';

export const handler = createCatalogHandler(poolFromEnvironment());
