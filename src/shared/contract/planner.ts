// The VRAM/RAM planner and GPU telemetry (issue: planner).
export const plannerMethods = {}
export interface PlannerTopics {}
