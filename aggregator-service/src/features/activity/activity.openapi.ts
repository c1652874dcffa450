import type { OpenApiPathItem } from '@hosting/shared';

/** The OpenAPI paths of the activity feed, spread into openapi/document.ts. */
export const activityPaths: Record<string, OpenApiPathItem> = {};
