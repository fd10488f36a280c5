export const STAGES = ['legacy', 'shadow', 'live', 'complete'] as const;

/** How far a group has moved toward the new side; see docs/architecture.md, "Stages". */
export type Stage = (typeof STAGES)[number];

export const SIDES = ['legacy', 'new'] as const;

/** One side of the migration: the monolith or the rewritten Lambda APIs. */
export type Side = (typeof SIDES)[number];

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export function otherSide(side: Side): Side {
  return side === 'legacy' ? 'new' : 'legacy';
}

/** The side that answers the client. */
export function primarySide(stage: Stage): Side {
  return stage === 'legacy' || stage === 'shadow' ? 'legacy' : 'new';
}

/** The side that receives a mirrored copy, when the stage compares the two. */
export function shadowSide(stage: Stage): Side | undefined {
  if (stage === 'shadow') return 'new';
  if (stage === 'live') return 'legacy';
  return undefined;
}
