// Hearth's version, as `hearth --version` prints it and daemonInfo() reports it.
export const hearthVersion = '0.1.0'
