export * from './postgres.js';
export * from './contract.js';
