/** Live deployment status (issue 5). Placeholder for the LISTEN/NOTIFY-fed hub that main.ts creates. */
export interface DeploymentStreamHub {
  readonly kind: 'deployment-stream-hub';
}
