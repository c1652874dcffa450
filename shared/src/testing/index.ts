export * from './postgres.js';
export * from './contract.js';
export * from './chaos-proxy.js';
