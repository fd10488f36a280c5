import type { RouteCounts } from '../../compare/index.js';
import type { NoiseChanges } from './database.js';

type FieldCount = RouteCounts['fields'][number];

/**
 * Noise counts added up by group, route and field: what a failed write took is written with the
 * next one rather than lost, and a long outage makes no longer a list than one write's.
 */
export function mergeNoise(...batches: ReadonlyArray<readonly NoiseChanges[]>): NoiseChanges[] {
  const groups = new Map<string, { decayEvery: number; routes: Map<string, { comparisonsAB: number; comparisonsAA: number; fields: Map<string, FieldCount> }> }>();
  for (const { group, decayEvery, routes } of batches.flat()) {
    const merged = groups.get(group) ?? { decayEvery, routes: new Map() };
    groups.set(group, merged);
    for (const { route, comparisonsAB, comparisonsAA, fields } of routes) {
      const counts = merged.routes.get(route) ?? { comparisonsAB: 0, comparisonsAA: 0, fields: new Map<string, FieldCount>() };
      merged.routes.set(route, counts);
      counts.comparisonsAB += comparisonsAB;
      counts.comparisonsAA += comparisonsAA;
      for (const field of fields) {
        const key = `${field.target} ${field.field}`;
        const known = counts.fields.get(key);
        counts.fields.set(key, known ? { ...known, differencesAB: known.differencesAB + field.differencesAB, differencesAA: known.differencesAA + field.differencesAA } : field);
      }
    }
  }
  return [...groups].map(([group, { decayEvery, routes }]) => ({
    group, decayEvery,
    routes: [...routes].map(([route, counts]) => ({ route, comparisonsAB: counts.comparisonsAB, comparisonsAA: counts.comparisonsAA, fields: [...counts.fields.values()] })),
  }));
}
