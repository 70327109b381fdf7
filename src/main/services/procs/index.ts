export * from './scan'
export * from './read'
